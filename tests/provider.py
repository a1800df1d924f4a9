"""Scripted OpenAI-compatible HTTP server for tests and benchmarks.

Tests drive kit_py (and therefore litellm's real HTTP client) against this server instead of the
internet. Each chat request consumes the next scripted action (reply, error or hang) in order; when
the script is empty a short default reply is sent. Every request is recorded so tests can assert
exactly what context was sent.

Standard library only. Run standalone for benchmarks or manual use:
    python tests/provider.py --port 0 --text "hello"
    python tests/provider.py --port 0 --stream-tokens 20000
The first stdout line is the base URL; the server then runs until killed.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import select
import signal
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")
MODELS_PATHS = ("/v1/models", "/models")


@dataclass
class _Reply:
    text: str = ""
    reasoning: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    usage: dict[str, Any] | None = None
    finish_reason: str | None = None
    chunk_size: int = 8
    delay: float = 0.0
    first_delay: float = 0.0
    drop_after: int | None = None
    truncate_after: int | None = None
    model: str | None = None


@dataclass
class _Error:
    status: int
    message: str
    type: str
    code: str | None
    retry_after: float | None


@dataclass
class _Hang:
    seconds: float


_Action = _Reply | _Error | _Hang

# Realistic defaults per status: (message, type, code). Types deliberately avoid the strings litellm
# maps by text ("invalid_request_error" turns ANY status into BadRequestError, "rate limit" into
# RateLimitError), so the HTTP status alone decides the litellm exception unless a test asks otherwise.
_ERROR_DEFAULTS: dict[int, tuple[str, str, str | None]] = {
    400: ("Invalid request.", "invalid_request_error", None),
    401: (
        "Incorrect API key provided: sk-***. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        "authentication_error",
        "invalid_api_key",
    ),
    403: ("You are not allowed to sample from this model.", "permission_error", None),
    404: ("The model does not exist or you do not have access to it.", "not_found_error", "model_not_found"),
    429: (
        "Rate limit reached for requests. Please try again later.",
        "rate_limit_error",
        "rate_limit_exceeded",
    ),
    500: ("The server had an error while processing your request.", "server_error", None),
    502: ("Bad gateway.", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
}


class _Server(ThreadingHTTPServer):
    """Says nothing when a client resets an idle keep-alive connection (an event loop that closed)."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _client_gone(conn: socket.socket) -> bool:
    """True when the client closed its end (readable with nothing to read) or reset it."""
    try:
        if not select.select([conn], [], [], 0)[0]:
            return False
        return conn.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def _split(text: str, size: int) -> list[str]:
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _arguments_json(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


class ScriptedProvider:
    """An OpenAI-compatible chat completions server that replays a script of responses."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.requests: list[dict[str, Any]] = []
        self.default_text = "ok"
        # OpenAI only sends the usage chunk when the request asks for it; set True to always send it.
        self.always_stream_usage = False
        self._script: deque[_Action] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._client_closed = threading.Condition(self._lock)
        self.client_closed = 0
        """Streamed replies the client hung up on before they were finished (a cancelled request)."""
        self.gate: threading.Event | None = None
        self._watching = threading.local()  # the connection a handler thread's `_wait` watches
        """When set to an Event, streamed replies wait until it is set (e.g. until N requests are in)."""

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("ScriptedProvider is not started")
        return f"http://{self.host}:{self._server.server_port}/v1"

    def start(self) -> ScriptedProvider:
        server = _Server((self.host, self.port), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut every open client connection, so stop never waits on a client."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._server = None
        self._thread = None

    def __enter__(self) -> ScriptedProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting -------------------------------------------------------------------------------

    def reply(
        self,
        text: str = "",
        *,
        reasoning: str | None = None,
        tool_calls: list[dict[str, Any]] | None = None,
        usage: dict[str, Any] | None = None,
        finish_reason: str | None = None,
        chunk_size: int = 8,
        delay: float = 0.0,
        first_delay: float = 0.0,
        drop_after: int | None = None,
        truncate_after: int | None = None,
        model: str | None = None,
    ) -> None:
        """Enqueue one successful response (streamed as SSE when the request asks for a stream).

        tool_calls items: {"id": "call_1", "name": "read", "arguments": {...} or a JSON string}.
        drop_after: for streams, cut the connection after that many SSE chunks (the role chunk counts
        as the first) in the middle of the chunked body, without finish_reason, usage or [DONE].
        litellm raises MidStreamFallbackError for this.
        truncate_after: for streams, end the HTTP body properly after that many SSE chunks, still
        without finish_reason, usage or [DONE]. litellm ends the stream silently and even invents
        finish_reason "stop"; only CustomStreamWrapper.received_finish_reason stays None.
        Both are ignored for non-streaming requests.
        """
        self._push(
            _Reply(
                text=text,
                reasoning=reasoning,
                tool_calls=tool_calls,
                usage=usage,
                finish_reason=finish_reason,
                chunk_size=chunk_size,
                delay=delay,
                first_delay=first_delay,
                drop_after=drop_after,
                truncate_after=truncate_after,
                model=model,
            )
        )

    def error(
        self,
        status: int,
        message: str | None = None,
        *,
        type: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        times: int = 1,
    ) -> None:
        """Enqueue `times` OpenAI-style error responses: {"error": {"message", "type", "code"}}.

        Unset message/type/code get realistic per-status defaults (see _ERROR_DEFAULTS).
        """
        default_message, default_type, default_code = _ERROR_DEFAULTS.get(
            status, (f"Scripted error {status}.", "api_error", None)
        )
        err = _Error(
            status,
            default_message if message is None else message,
            default_type if type is None else type,
            default_code if code is None else code,
            retry_after,
        )
        for _ in range(times):
            self._push(err)

    def context_overflow(self, max_tokens: int = 8192, requested: int = 10000) -> None:
        """Enqueue the 400 OpenAI sends when the prompt is longer than the model's context."""
        self.error(
            400,
            f"This model's maximum context length is {max_tokens} tokens. However, your messages "
            f"resulted in {requested} tokens. Please reduce the length of the messages.",
            type="invalid_request_error",
            code="context_length_exceeded",
        )

    def hang(self, seconds: float) -> None:
        """Enqueue a response that reads the request and sends nothing for `seconds`, then closes."""
        self._push(_Hang(seconds))

    def last_messages(self) -> list[dict[str, Any]]:
        """The `messages` of the latest chat request."""
        with self._lock:
            for req in reversed(self.requests):
                if req["path"] in CHAT_PATHS and isinstance(req["body"], dict):
                    return list(req["body"].get("messages", []))
        raise LookupError("no chat request received")

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        """Recorded requests to the chat completions endpoint only."""
        with self._lock:
            return [r for r in self.requests if r["path"] in CHAT_PATHS]

    @property
    def pending(self) -> int:
        """Scripted actions not consumed yet (a test can assert the script was fully used)."""
        with self._lock:
            return len(self._script)

    def _push(self, action: _Action) -> None:
        with self._lock:
            self._script.append(action)

    def _next_action(self) -> _Action:
        with self._lock:
            if self._script:
                return self._script.popleft()
        return _Reply(text=self.default_text)

    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(entry)

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _wait(self, seconds: float) -> bool:
        """Sleep, but wake early on stop. Returns False when stopping, and while a streamed reply waits
        (`_watching.conn` set) also when its client hung up."""
        conn = getattr(self._watching, "conn", None)
        if conn is None:
            if seconds > 0:
                self._stopping.wait(seconds)
            return not self._stopping.is_set()
        outcome = self._wait_or_gone(seconds, conn)
        self._watching.gone = outcome == "gone"
        return outcome == "ok"

    def _new_id(self) -> str:
        return f"chatcmpl-scripted{next(self._ids)}"

    def wait_for_client_close(self, count: int = 1, timeout: float = 5.0) -> bool:
        """Wait until `count` streamed replies were hung up on by the client; False on timeout."""
        with self._client_closed:
            return self._client_closed.wait_for(lambda: self.client_closed >= count, timeout)

    def _note_client_closed(self, record: dict[str, Any] | None) -> None:
        with self._client_closed:
            self.client_closed += 1
            if record is not None:
                record["client_closed"] = True
            self._client_closed.notify_all()

    def _wait_or_gone(self, seconds: float, conn: socket.socket) -> str:
        """Sleep like `_wait`, watching the client: "ok", "stopping" or "gone" (it closed the connection)."""
        deadline = time.monotonic() + max(0.0, seconds)
        while True:
            if self._stopping.is_set():
                return "stopping"
            if _client_gone(conn):
                return "gone"
            left = deadline - time.monotonic()
            if left <= 0:
                return "ok"
            self._stopping.wait(min(left, 0.02))


# -- response building ---------------------------------------------------------------------------


def _usage(reply: _Reply, body: dict[str, Any]) -> dict[str, Any]:
    prompt = len(json.dumps(body.get("messages", []))) // 4
    completion = len(reply.text) // 4 + 1
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion}
    usage.update(reply.usage or {})
    usage.setdefault("total_tokens", int(usage["prompt_tokens"]) + int(usage["completion_tokens"]))
    return usage


def _finish_reason(reply: _Reply) -> str:
    if reply.finish_reason is not None:
        return reply.finish_reason
    return "tool_calls" if reply.tool_calls else "stop"


def _completion(reply: _Reply, body: dict[str, Any], rid: str, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.reasoning is not None:
        message["reasoning_content"] = reply.reasoning
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.get("id", f"call_{i + 1}"),
                "type": "function",
                "function": {"name": call["name"], "arguments": _arguments_json(call.get("arguments", {}))},
            }
            for i, call in enumerate(reply.tool_calls)
        ]
    return {
        "id": rid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": _finish_reason(reply)}],
        "usage": _usage(reply, body),
    }


def _stream_events(reply: _Reply, body: dict[str, Any], rid: str, model: str) -> list[dict[str, Any]]:
    """Every SSE chunk of a streamed reply, in order (without the final [DONE])."""
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": rid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    events = [chunk({"role": "assistant", "content": ""})]
    if reply.reasoning:
        events += [chunk({"reasoning_content": p}) for p in _split(reply.reasoning, reply.chunk_size)]
    if reply.text:
        events += [chunk({"content": p}) for p in _split(reply.text, reply.chunk_size)]
    for i, call in enumerate(reply.tool_calls or []):
        head = {
            "index": i,
            "id": call.get("id", f"call_{i + 1}"),
            "type": "function",
            "function": {"name": call["name"], "arguments": ""},
        }
        events.append(chunk({"tool_calls": [head]}))
        for piece in _split(_arguments_json(call.get("arguments", {})), reply.chunk_size):
            events.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}))
    events.append(chunk({}, _finish_reason(reply)))
    return events


def _usage_chunk(reply: _Reply, body: dict[str, Any], rid: str, model: str) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [],
        "usage": _usage(reply, body),
    }


# -- HTTP handler --------------------------------------------------------------------------------


def _make_handler(provider: ScriptedProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 30  # idle keep-alive connections must not pin a thread forever

        def setup(self) -> None:
            super().setup()
            provider._track(self.connection, True)

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                provider._track(self.connection, False)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            """Silence per-request logging on stderr."""

        def _read_body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if not raw:
                return None
            try:
                return json.loads(raw)
            except ValueError:
                return raw.decode("utf-8", "replace")

        def _record(self, body: Any) -> None:
            self.recorded = {
                "path": self.path.split("?", 1)[0],
                "method": self.command,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
            }
            provider._record(self.recorded)

        def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()

        def do_GET(self) -> None:
            self._record(None)
            path = self.path.split("?", 1)[0]
            if path in MODELS_PATHS:
                self._send_json(200, {"object": "list", "data": [{"id": "scripted", "object": "model"}]})
            else:
                self._not_found()

        def do_POST(self) -> None:
            body = self._read_body()
            self._record(body)
            if self.path.split("?", 1)[0] not in CHAT_PATHS:
                self._not_found()
                return
            request = body if isinstance(body, dict) else {}
            action = provider._next_action()
            try:
                if isinstance(action, _Hang):
                    provider._wait(action.seconds)
                    self.close_connection = True
                elif isinstance(action, _Error):
                    self._send_error(action)
                elif request.get("stream"):
                    self._send_stream(action, request)
                else:
                    self._send_completion(action, request)
            except (BrokenPipeError, ConnectionResetError, OSError):
                self.close_connection = True  # the client went away (e.g. its timeout fired)

        def _not_found(self) -> None:
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

        def _send_error(self, err: _Error) -> None:
            headers = {}
            if err.retry_after is not None:
                headers["Retry-After"] = f"{err.retry_after:g}"
            payload = {
                "error": {
                    "message": err.message,
                    "type": err.type,
                    "param": None,
                    "code": err.code,
                }
            }
            self._send_json(err.status, payload, headers)

        def _send_completion(self, reply: _Reply, request: dict[str, Any]) -> None:
            if not provider._wait(reply.first_delay):
                self.close_connection = True
                return
            model = reply.model or str(request.get("model", "scripted"))
            self._send_json(200, _completion(reply, request, provider._new_id(), model))

        def _send_stream(self, reply: _Reply, request: dict[str, Any]) -> None:
            try:
                self._stream_reply(reply, request)
            except OSError:  # a write failed: the client went away mid-stream
                self.close_connection = True
                provider._note_client_closed(getattr(self, "recorded", None))

        def _pause(self, seconds: float) -> bool:
            """`provider._wait` watching this client; False (drop the connection) when stopping or
            the client left."""
            provider._watching.conn, provider._watching.gone = self.connection, False
            try:
                ok = provider._wait(seconds)
            finally:
                provider._watching.conn = None
            if provider._watching.gone:
                provider._note_client_closed(getattr(self, "recorded", None))
            return ok

        def _stream_reply(self, reply: _Reply, request: dict[str, Any]) -> None:
            gate = provider.gate
            while gate is not None and not gate.is_set():
                outcome = provider._wait_or_gone(0.02, self.connection)
                if outcome != "ok":
                    self.close_connection = True
                    return
            if not self._pause(reply.first_delay):
                self.close_connection = True
                return
            rid = provider._new_id()
            model = reply.model or str(request.get("model", "scripted"))
            events = _stream_events(reply, request, rid, model)
            options = request.get("stream_options") or {}
            if provider.always_stream_usage or options.get("include_usage"):
                events.append(_usage_chunk(reply, request, rid, model))

            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            for n, event in enumerate(events):
                if reply.drop_after is not None and n >= reply.drop_after:
                    self._drop()
                    return
                if reply.truncate_after is not None and n >= reply.truncate_after:
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    return
                if n and not self._pause(reply.delay):
                    self._drop()
                    return
                self._write_chunk(f"data: {json.dumps(event)}\n\n".encode())
            self._write_chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def _write_chunk(self, data: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def _drop(self) -> None:
            """End the connection mid-body: no terminating chunk, finish_reason or [DONE]."""
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    return Handler


# -- standalone mode -----------------------------------------------------------------------------

_PROSE = (
    "the session tree keeps every branch append only so nothing is lost when you edit a turn "
    "streaming replies render incrementally and the terminal must stay responsive"
)


def markdown_text(tokens: int) -> str:
    """About `tokens` tokens (one word ~ one token) of markdown-ish text for render benchmarks."""
    words = _PROSE.split()
    out: list[str] = []
    count = 0
    para = 0
    while count < tokens:
        para += 1
        if para % 7 == 1:
            out.append(f"\n## Section {para // 7 + 1}\n\n")
            count += 3
        elif para % 7 == 4:
            out.append("\n```python\ndef step(n):\n    return n * 2  # code block\n```\n\n")
            count += 16
        elif para % 7 == 6:
            for item in range(3):
                out.append(f"- item **{item}** with `code` and *emphasis*\n")
                count += 9
            out.append("\n")
        else:
            out.append(" ".join(words[(para + i) % len(words)] for i in range(40)) + ".\n\n")
            count += 40
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Scripted OpenAI-compatible server (default reply only).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--text", default="ok", help="reply text for every request")
    parser.add_argument("--repeat-tokens", type=int, default=0, help="repeat --text until ~N tokens")
    parser.add_argument("--stream-tokens", type=int, default=0, help="reply with ~N tokens of markdown")
    parser.add_argument("--chunk-size", type=int, default=8, help="characters per streamed delta")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds between streamed chunks")
    args = parser.parse_args(argv)

    text = args.text
    if args.stream_tokens:
        text = markdown_text(args.stream_tokens)
    elif args.repeat_tokens:
        words = max(1, len(args.text.split()))
        text = " ".join([args.text] * max(1, args.repeat_tokens // words))

    provider = _StandaloneProvider(text, args.chunk_size, args.delay, args.host, args.port)
    provider.start()
    print(provider.base_url, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with contextlib.suppress(KeyboardInterrupt):
        done.wait()
    provider.stop()
    return 0


class _StandaloneProvider(ScriptedProvider):
    """Serves the same reply forever and keeps no request log (a benchmark must not grow memory)."""

    def __init__(self, text: str, chunk_size: int, delay: float, host: str, port: int) -> None:
        super().__init__(host, port)
        self._reply = _Reply(text=text, chunk_size=chunk_size, delay=delay)

    def _next_action(self) -> _Action:
        return self._reply

    def _record(self, entry: dict[str, Any]) -> None:
        return None


if __name__ == "__main__":
    sys.exit(main())
