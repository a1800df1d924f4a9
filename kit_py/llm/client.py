"""The only module that talks to litellm: streaming, tool-call assembly, usage, cost and error mapping.

litellm costs ~2-3 s to import, so it is imported lazily (and can be warmed up in a background thread
while the user types). Knows nothing of files or terminals: it takes messages in kit's part format and
returns the assembled assistant parts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, Protocol

from kit_py import errors
from kit_py.llm import caching, local
from kit_py.llm.scripted import scripted_model
from kit_py.llm.types import (
    LLMRequest,
    LLMResponse,
    StreamBroken,
    StreamEvent,
    ToolCall,
    Usage,
    provider_of,
)
from kit_py.text import shorten, valid_utf8

THINKING_TO_EFFORT = {"minimal": "minimal", "low": "low", "medium": "medium", "high": "high"}
FINISH_TO_STOP_REASON = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
}
# Only failures that may pass on their own are retried: a rejected request (4xx) or a refused
# connection fails fast.
RETRYABLE = (errors.RateLimitError, errors.ServerError)
MAX_ERROR_CHARS = 300
"""A provider's error message is cut to this (at a word boundary): it is shown on one line."""

_litellm: Any = None
_import_lock = threading.Lock()
_debug = False
_QUIET_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm", "httpx")
_OWN_CALL: ContextVar[bool] = ContextVar("kit_llm_own_call", default=False)
"""True while kit itself is talking to litellm (in this thread or task): what kit's quiet applies to."""


class _OwnCallsQuiet(logging.Filter):
    """Drops what litellm and httpx log during kit's own requests. A filter, not a level: a library
    must not change how the application around it logs its own litellm or httpx calls."""

    def filter(self, record: logging.LogRecord) -> bool:
        return _debug or not _OWN_CALL.get()


@contextlib.contextmanager
def _own_call() -> Iterator[None]:
    token = _OWN_CALL.set(True)
    try:
        yield
    finally:
        _OWN_CALL.reset(token)


def claim_process(debug: bool = False) -> None:
    """Process-wide settings for the `kit` command, which owns its process (the Python API never calls
    this): no Hugging Face downloads (litellm's token counter tries them for llama models) and
    litellm's and httpx's loggers silenced outright, background threads included."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if not debug:
        for name in _QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.CRITICAL)


def is_loaded() -> bool:
    """Whether litellm is imported already (the first request then pays nothing for it)."""
    return _litellm is not None


def load_litellm(debug: bool = False) -> Any:
    """Import litellm once, configured for offline use. What kit changes is scoped to its own calls
    (`drop_params` is passed per request, logging is filtered during them), so an application that
    uses litellm or httpx itself keeps their behaviour."""
    global _litellm, _debug
    with _import_lock:
        if _litellm is None:
            # Without this litellm fetches a price list from the internet at import ("1" does not work).
            os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
            import litellm

            litellm.suppress_debug_info = True
            litellm.telemetry = False
            _raise_unfixable_422s()
            for name in _QUIET_LOGGERS:
                logger = logging.getLogger(name)
                if not any(isinstance(f, _OwnCallsQuiet) for f in logger.filters):
                    logger.addFilter(_OwnCallsQuiet())
            _litellm = litellm
        if debug:
            _debug = True
            _litellm._turn_on_debug()
        return _litellm


def _raise_unfixable_422s() -> None:
    """With drop_params on, litellm answers a 422 by retrying without the rejected params, and when
    the body names none it retries unchanged and finally returns None, losing the provider's words.
    Re-raise the 422 when there is nothing to drop."""
    try:
        from litellm.llms.openai import openai as openai_llm
    except ImportError:
        return
    original = getattr(openai_llm, "drop_params_from_unprocessable_entity_error", None)
    if original is None or getattr(original, "_kit_wrapped", False):
        return

    def drop_or_raise(e: Any, data: Any) -> Any:
        kept = original(e, data)
        if len(kept) == len(data) and _OWN_CALL.get():  # other litellm users keep litellm's behaviour
            raise e
        return kept

    drop_or_raise._kit_wrapped = True  # type: ignore[attr-defined]
    openai_llm.drop_params_from_unprocessable_entity_error = drop_or_raise


def warm_up() -> threading.Thread:
    """Import litellm in the background so the first turn does not pay for it."""
    thread = threading.Thread(target=load_litellm, name="litellm-warmup", daemon=True)
    thread.start()
    return thread


# --- where a call runs: in this process, or in the warm worker (kit_py/llm/worker/) -------------------

IN_PROCESS: Any = object()
"""A router's answer when the call is to run in this process after all."""


class Router(Protocol):
    """Runs litellm calls elsewhere: kit_py/llm/worker/client.py `WorkerRouter`, set by `route_calls`."""

    def call(
        self, op: str, args: tuple[Any, ...], on_event: Callable[[StreamEvent], None] | None = None
    ) -> Any: ...

    async def acall(self, op: str, args: tuple[Any, ...], on_event: Callable[[StreamEvent], None]) -> Any: ...


_router: Router | None = None


def route_calls(router: Router | None) -> None:
    """Send this process's calls (check, limits, stream, summary) to `router`; None runs them here again."""
    global _router
    _router = router


def _router_for(model: str) -> Router | None:
    """The one place that decides where a call runs, for sync and async callers alike: the router while
    one is set (`kit` one-shots: the warm worker), else None (here). A local model always runs here:
    its server belongs to this process."""
    return None if _router is None or local.is_local(model) else _router



def check_model(model: str, api_key: str | None, api_base: str | None) -> None:
    """Fail before any network call when the model is unknown or its API key is missing."""
    if scripted_model(model) is not None:
        return
    if local.is_local(model):  # no key: kit runs the model itself (its server starts meanwhile)
        local.check(model)
        return
    router = _router_for(model)
    if router is not None and router.call("check", (model, api_key, api_base)) is not IN_PROCESS:
        return
    litellm = load_litellm()
    try:
        litellm.get_llm_provider(model)
    except Exception as exc:
        raise errors.ModelNotFoundError(
            f"unknown model {model!r}: use a litellm model string such as openai/gpt-4o or "
            "anthropic/claude-sonnet-4-5"
        ) from exc
    if api_key or api_base:
        return
    env = litellm.validate_environment(model)
    missing = [k for k in env.get("missing_keys", []) if k.endswith(("_KEY", "_TOKEN"))]
    if missing:
        provider = provider_of(model)
        raise errors.MissingAPIKeyError(
            f"no API key for {provider}: set {' or '.join(missing)} (or pass --api-key)",
            provider=provider,
            env_vars=tuple(missing),
        )


def chat_models() -> list[str]:
    """Every chat model litellm knows, as sorted `provider/model` strings (for completion)."""
    lib = load_litellm()
    names = set()
    for provider, models in lib.models_by_provider.items():
        for model in models:
            if lib.model_cost.get(model, {}).get("mode", "chat") == "chat":
                names.add(model if model.startswith(f"{provider}/") else f"{provider}/{model}")
    return sorted(names)


def closest_model(model: str) -> str | None:
    """For a model litellm does not list, the listed chat model it was probably meant to be
    (`anthropic/claude-sonet-4-5` -> `anthropic/claude-sonnet-4-5`); None when it is listed or
    nothing is close (a new or self-hosted model)."""
    import difflib

    known = chat_models()
    bare = model.split("/", 1)[1] if "/" in model else model
    if model in known or bare in load_litellm().model_cost:
        return None
    close = difflib.get_close_matches(model, known, n=1, cutoff=0.9)
    return close[0] if close else None


def model_limits(model: str) -> tuple[int | None, int | None]:
    """(context window, max output tokens) from litellm's bundled model info, or None when unknown."""
    if scripted_model(model) is not None:
        return None, None
    if local.is_local(model):
        return local.CONTEXT_WINDOW, local.MAX_OUTPUT_TOKENS
    router = _router_for(model)
    if router is not None and (limits := router.call("limits", (model,))) is not IN_PROCESS:
        return limits
    litellm = load_litellm()
    try:
        info = litellm.get_model_info(model)
    except Exception:
        return None, None
    window = info.get("max_input_tokens") or info.get("max_tokens")
    return window, info.get("max_output_tokens")


def _completion_kwargs(req: LLMRequest, stream: bool) -> dict[str, Any]:
    messages, tools = valid_utf8(req.messages), req.tools
    if req.caching and caching.supports_breakpoints(load_litellm(), req.model):
        messages, tools = caching.add_breakpoints(messages, tools)
    kwargs: dict[str, Any] = {
        "model": req.model,
        "messages": messages,
        "stream": stream,
        "timeout": req.timeout,
        "num_retries": 0,  # kit retries itself, with visible backoff and Retry-After support
        # Options a provider does not take are dropped, for this request only (never litellm.drop_params).
        "drop_params": True,
    }
    if stream:
        kwargs["stream_options"] = {"include_usage": True}
    if req.api_base:
        kwargs["api_base"] = req.api_base
    # OpenAI-compatible local servers usually need no key, but the client insists on one.
    api_key = req.api_key or ("sk-no-key" if req.api_base and req.model.startswith("openai/") else None)
    if api_key:
        kwargs["api_key"] = api_key
    if req.max_tokens is not None:
        kwargs["max_tokens"] = req.max_tokens
    if req.temperature is not None:
        kwargs["temperature"] = req.temperature
    if req.thinking_level in THINKING_TO_EFFORT:
        kwargs["reasoning_effort"] = THINKING_TO_EFFORT[req.thinking_level]
    if tools:
        kwargs["tools"] = tools
        # kit's tools are plain functions (its MCP client turns server tools into those): litellm's own
        # MCP bridge would only import itself to find none, about 0.45 s of every first request.
        kwargs["_skip_mcp_handler"] = True
    kwargs.update(req.extra)
    if local.is_local(req.model):  # the server kit runs for it (started now if it is not up)
        return local.completion_kwargs(kwargs)
    return kwargs


def _first_line(text: str) -> str:
    line = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return shorten(line, MAX_ERROR_CHARS)


def _provider_message(exc: Exception) -> str:
    """The provider's own words, without litellm's 'litellm.XError: OpenAIException - ' prefixes."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else None
        if isinstance(message, str) and message.strip():
            return _first_line(message)
    text = _first_line(getattr(exc, "message", None) or str(exc) or type(exc).__name__)
    for sep in ("Exception - ", "Error: "):
        if sep in text:
            text = text.split(sep, 1)[1]
    import json

    if text[:2] in ("b'", 'b"'):  # some providers' bodies arrive as a bytes repr
        text = text[2:-1] if text[-1:] == text[1] else text[2:]
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    inner = parsed.get("error", parsed) if isinstance(parsed, dict) else None
    message = inner.get("message") if isinstance(inner, dict) else None
    return message if isinstance(message, str) and message else text


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it was raised from or while handling."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _transport_failure(exc: Exception) -> str | None:
    """'timeout' or 'dropped' when the HTTP connection itself failed after it was made, else None."""
    import httpx

    chain = _chain(exc)
    if any(isinstance(e, httpx.TimeoutException) for e in chain):
        return "timeout"
    if any(isinstance(e, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)) for e in chain):
        return "dropped"
    return None


def _is_local(exc: Exception) -> bool:
    """True when litellm failed before any HTTP response (it still labels such errors 500)."""
    if getattr(exc, "litellm_response_headers", None) is not None:
        return False
    local_types = (UnicodeError, TypeError, AttributeError, KeyError, IndexError)
    return any(isinstance(e, local_types) for e in _chain(exc)) or "codec can't" in str(exc)


def map_error(exc: Exception, model: str, api_base: str | None) -> errors.KitError:
    """Turn a litellm/httpx exception into a kit error with a one-line, actionable message, carrying
    the HTTP status and the provider (raise it `from exc`, so the original is its `__cause__`)."""
    error = _mapped(exc, model, api_base)
    if isinstance(error, errors.AgentError):
        status = getattr(exc, "status_code", None)
        # litellm labels failures that never reached the provider 500 too: those have no HTTP status.
        no_response = (errors.ConnectionFailedError, errors.RequestTimeoutError)
        sent = not isinstance(error, no_response) and type(error) is not errors.AgentError
        error.status = status if isinstance(status, int) and sent else None
        error.provider = provider_of(model)
    return error


def _mapped(exc: Exception, model: str, api_base: str | None) -> errors.KitError:
    litellm = load_litellm()
    where = api_base or provider_of(model)
    detail = _provider_message(exc)
    status = getattr(exc, "status_code", None)
    if isinstance(exc, litellm.ContextWindowExceededError):
        return errors.ContextOverflowError(f"context too long for {model}: {detail}")
    if isinstance(exc, litellm.AuthenticationError) or status == 401:
        return errors.AuthError(f"authentication failed at {where} (401): check your API key. {detail}")
    if isinstance(exc, litellm.PermissionDeniedError) or status == 403:
        return errors.AuthError(f"access denied at {where} (403): {detail}")
    if isinstance(exc, litellm.NotFoundError) or status == 404:
        return errors.ModelNotFoundError(f"model {model!r} not found at {where} (404): {detail}")
    if isinstance(exc, litellm.RateLimitError) or status == 429:
        return errors.RateLimitError(f"rate limited by {where} (429): {detail}")
    transport = _transport_failure(exc)
    if isinstance(exc, litellm.Timeout) or transport == "timeout":
        return errors.RequestTimeoutError(f"request to {where} timed out")
    if isinstance(exc, litellm.APIConnectionError) and status is None or status == 500 and _refused(exc):
        return errors.ConnectionFailedError(f"cannot connect to {where}: {detail}")
    if transport == "dropped":
        return errors.ServerError(f"the connection to {where} dropped: {detail}")
    if isinstance(exc, litellm.BadRequestError) and "LLM Provider NOT provided" in str(exc):
        return errors.ModelNotFoundError(
            f"unknown model {model!r}: use a litellm model string like openai/gpt-4o"
        )
    if _is_local(exc):
        return errors.AgentError(f"could not send the request to {where}: {detail}")
    if status is not None and status >= 500:
        return errors.ServerError(f"{where} failed with {status}: {detail}")
    if status is not None:
        return errors.ProviderError(f"{where} rejected the request ({status}): {detail}")
    return errors.ProviderError(f"{where}: {detail}")


def _refused(exc: Exception) -> bool:
    text = str(exc).lower()
    return "connection refused" in text or "connecterror" in text or "connection error" in text


def _retry_delay(exc: Exception, attempt: int) -> float:
    """Honour Retry-After when the server sends it; otherwise exponential backoff (1, 2, 4 s ...)."""
    # litellm keeps the provider's headers on the exception; `response` may be one it made up.
    retry_after: Any = None
    sources: list[Any] = [
        getattr(exc, "litellm_response_headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
    ]
    for headers in sources:
        if hasattr(headers, "get") and headers.get("retry-after"):
            retry_after = headers.get("retry-after")
            break
    if retry_after:
        try:
            return min(max(float(retry_after), 0.0), 60.0)
        except ValueError:
            pass
    base = float(os.environ.get("KIT_RETRY_BASE_DELAY", "1.0"))
    return base * (2**attempt)


class _Assembler:
    """Collects stream deltas into complete parts; tool-call arguments arrive in pieces keyed by index."""

    def __init__(self, response: LLMResponse, on_event: Callable[[StreamEvent], None]) -> None:
        self.response = response
        self.on_event = on_event
        self.calls: dict[int, dict[str, str]] = {}
        self.finish_reason: str | None = None
        self.text_parts: list[str] = []
        self.reasoning_parts: list[str] = []
        self.received = False
        """Whether any chunk arrived (a failure before the first one may be retried)."""

    def feed(self, chunk: Any) -> None:
        self.received = True
        usage = getattr(chunk, "usage", None)
        if usage:
            self._take_usage(usage)
        for choice in getattr(chunk, "choices", None) or []:
            delta = getattr(choice, "delta", None)
            if delta is not None:
                self._take_delta(delta)
            if getattr(choice, "finish_reason", None):
                self.finish_reason = choice.finish_reason

    def _take_delta(self, delta: Any) -> None:
        reasoning = getattr(delta, "reasoning_content", None)
        if reasoning:
            self.reasoning_parts.append(reasoning)
            self.on_event(StreamEvent("reasoning_delta", reasoning))
        for block in getattr(delta, "thinking_blocks", None) or []:
            signature = block.get("signature") if isinstance(block, dict) else None
            if signature:
                self.response.reasoning_signature = signature
        content = getattr(delta, "content", None)
        if content:
            self.text_parts.append(content)
            self.on_event(StreamEvent("text_delta", content))
        for tc in getattr(delta, "tool_calls", None) or []:
            index = getattr(tc, "index", None)
            slot = self.calls.setdefault(
                index if index is not None else len(self.calls), {"id": "", "name": "", "arguments": ""}
            )
            if getattr(tc, "id", None):
                slot["id"] = tc.id
            function = getattr(tc, "function", None)
            if function is not None:
                if getattr(function, "name", None):
                    slot["name"] = function.name
                if getattr(function, "arguments", None):
                    slot["arguments"] += function.arguments

    def _take_usage(self, usage: Any) -> None:
        _read_usage(usage, self.response.usage)

    def finish(self) -> None:
        r = self.response
        r.text = "".join(self.text_parts)
        r.reasoning = "".join(self.reasoning_parts)
        r.tool_calls = [
            ToolCall(id=c["id"] or f"call_{i}", name=c["name"], arguments=c["arguments"] or "{}")
            for i, c in sorted(self.calls.items())
        ]
        if self.finish_reason:
            r.stop_reason = FINISH_TO_STOP_REASON.get(self.finish_reason, self.finish_reason)
        if r.tool_calls and r.stop_reason == "stop":
            r.stop_reason = "tool_use"


def _read_usage(raw: Any, u: Usage) -> None:
    """Copy a litellm usage object into kit's `Usage`. `input_tokens` is every prompt token, cached or
    not (litellm folds Anthropic's cache reads and writes into `prompt_tokens`); `cache_read_tokens` is
    Anthropic's `cache_read_input_tokens` or OpenAI's `prompt_tokens_details.cached_tokens`."""
    u.input_tokens = int(getattr(raw, "prompt_tokens", 0) or 0)
    u.output_tokens = int(getattr(raw, "completion_tokens", 0) or 0)
    details = getattr(raw, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", 0) if details else 0
    u.cache_read_tokens = int(cached or getattr(raw, "cache_read_input_tokens", 0) or 0)
    created = getattr(raw, "cache_creation_input_tokens", 0) or (
        getattr(details, "cache_creation_tokens", 0) if details else 0
    )
    u.cache_creation_tokens = int(created or 0)


def _cost(litellm: Any, model: str, usage: Usage) -> float | None:
    """Dollars at litellm's list prices, cache-aware: cache reads and writes have their own price."""
    if not usage.total_tokens:
        return None
    try:
        usage_object = litellm.Usage(
            prompt_tokens=usage.input_tokens,
            completion_tokens=usage.output_tokens,
            total_tokens=usage.total_tokens,
            prompt_tokens_details={"cached_tokens": usage.cache_read_tokens},
            cache_read_input_tokens=usage.cache_read_tokens,
            cache_creation_input_tokens=usage.cache_creation_tokens,
        )
        prompt_cost, completion_cost = litellm.cost_per_token(model=model, usage_object=usage_object)
    except Exception:
        return None  # unknown price: say nothing rather than a wrong 0.0
    total = float(prompt_cost) + float(completion_cost)
    return total if total > 0 else None


def stream_completion(req: LLMRequest, on_event: Callable[[StreamEvent], None]) -> LLMResponse:
    """Stream one assistant step, retrying rate limits and server errors that happen before any output.

    Raises a `KitError` when nothing usable arrived, or `StreamBroken` carrying the partial step when
    the stream failed, was dropped without a finish reason, or was interrupted with Ctrl-C (the HTTP
    response is closed at once).
    """
    scripted = scripted_model(req.model)
    if scripted is not None:
        return scripted.answer(req, on_event)
    router = _router_for(req.model)
    if router is not None and (sent := router.call("stream", (req,), on_event)) is not IN_PROCESS:
        return sent
    litellm = load_litellm()
    attempt = 0
    while True:
        assembler = _Assembler(LLMResponse(model=req.model, provider=provider_of(req.model)), on_event)
        stream: Any = None
        try:
            with _own_call():
                stream = _opened(litellm.completion(**_completion_kwargs(req, stream=True)), req)
                for chunk in stream:
                    assembler.feed(chunk)
        except KeyboardInterrupt as exc:
            _close(stream)
            raise _broken_off(assembler, exc) from None
        except Exception as exc:
            _close(stream)
            delay = _retry_delay_or_raise(exc, req, assembler, attempt, on_event)
            time.sleep(delay)
            attempt += 1
            continue
        return _finished(litellm, req, stream, assembler)


async def astream_completion(req: LLMRequest, on_event: Callable[[StreamEvent], None]) -> LLMResponse:
    """`stream_completion` on litellm's async client (`acompletion`), so many conversations share one
    event loop instead of a thread each. Cancelling the task closes the HTTP response at once and
    raises `StreamBroken` (cause `kit_py.errors.Cancelled`) with what arrived."""
    import asyncio  # here, not at the top: the `kit` command never needs it (start-up time)

    scripted = scripted_model(req.model)
    if scripted is not None:
        return scripted.answer(req, on_event)
    router = _router_for(req.model)
    if router is not None and (sent := await router.acall("stream", (req,), on_event)) is not IN_PROCESS:
        return sent
    litellm = load_litellm()
    attempt = 0
    while True:
        assembler = _Assembler(LLMResponse(model=req.model, provider=provider_of(req.model)), on_event)
        stream: Any = None
        try:
            with _own_call():
                stream = _opened(await litellm.acompletion(**_completion_kwargs(req, stream=True)), req)
                async for chunk in stream:
                    assembler.feed(chunk)
        except asyncio.CancelledError:
            await _aclose(stream)
            raise _broken_off(assembler, errors.Cancelled("cancelled")) from None
        except Exception as exc:
            await _aclose(stream)
            delay = _retry_delay_or_raise(exc, req, assembler, attempt, on_event)
            try:
                await asyncio.sleep(delay)
            except asyncio.CancelledError:
                raise _broken_off(assembler, errors.Cancelled("cancelled")) from None
            attempt += 1
            continue
        return _finished(litellm, req, stream, assembler)


def _opened(stream: Any, req: LLMRequest) -> Any:
    if stream is None:  # litellm swallowed an error it thought it could fix
        raise errors.ProviderError(
            f"{req.api_base or provider_of(req.model)} rejected the request", provider=provider_of(req.model)
        )
    return stream


def _close(stream: Any) -> None:
    """Close the HTTP response under litellm's stream wrapper (the provider sees the connection end)."""
    close = getattr(getattr(stream, "completion_stream", None), "close", None)
    if callable(close):
        with contextlib.suppress(Exception):
            close()


async def _aclose(stream: Any) -> None:
    if stream is not None and hasattr(stream, "aclose"):
        with contextlib.suppress(Exception):
            await stream.aclose()


def _broken_off(assembler: _Assembler, cause: errors.KitError | KeyboardInterrupt) -> StreamBroken:
    """The step as far as it got, for an interrupted or cancelled stream (stop reason "aborted")."""
    assembler.finish()
    assembler.response.stop_reason = "aborted"
    return StreamBroken(cause, assembler.response)


def _retry_delay_or_raise(
    exc: Exception,
    req: LLMRequest,
    assembler: _Assembler,
    attempt: int,
    on_event: Callable[[StreamEvent], None],
) -> float:
    """How long to wait before trying again, or raise what the failure means for the turn: a `KitError`
    when nothing arrived, `StreamBroken` with the partial step when the stream broke mid-answer."""
    if isinstance(exc, errors.KitError):
        raise exc
    error = map_error(exc, req.model, req.api_base)
    if not assembler.received and isinstance(error, RETRYABLE) and attempt < req.max_retries:
        delay = _retry_delay(exc, attempt)
        on_event(StreamEvent("retry", f"{error.message}; retrying in {delay:.1f}s"))
        return delay
    if not assembler.received:
        raise error from exc
    assembler.finish()
    assembler.response.stop_reason = "error"
    broken = _mid_stream_error(exc, error, req.timeout)
    if isinstance(broken, errors.AgentError):
        broken.provider = provider_of(req.model)
    broken.__cause__ = exc
    raise StreamBroken(broken, assembler.response) from exc


def _finished(litellm: Any, req: LLMRequest, stream: Any, assembler: _Assembler) -> LLMResponse:
    assembler.finish()
    response = assembler.response
    response.usage.cost_usd = _cost(litellm, req.model, response.usage)
    # litellm invents finish_reason "stop" when a stream is cut off cleanly; its wrapper still
    # knows whether the provider really sent one.
    if getattr(stream, "received_finish_reason", "unknown") is None or assembler.finish_reason is None:
        # litellm can end a dropped stream without raising: no finish reason means it was cut off.
        response.stop_reason = "error"
        raise StreamBroken(
            errors.IncompleteResponseError(
                "the stream ended before the answer finished (incomplete)", provider=response.provider
            ),
            response,
        )
    return response


def _mid_stream_error(exc: Exception, error: errors.KitError, timeout: float) -> errors.KitError:
    """Why a stream broke after output arrived, without litellm's invented '500'."""
    transport = _transport_failure(exc)
    if transport == "timeout":
        return errors.RequestTimeoutError(f"the provider stopped sending for {timeout:g} s mid-answer")
    if transport == "dropped":
        return errors.IncompleteResponseError(
            f"the connection dropped mid-answer (incomplete): {_provider_message(exc)}"
        )
    return errors.IncompleteResponseError(f"the stream failed mid-answer (incomplete): {error.message}")


def complete_text(req: LLMRequest) -> tuple[str, Usage]:
    """A non-streaming request returning only the text (summaries, structured output)."""
    scripted = scripted_model(req.model)
    if scripted is not None:
        return scripted.complete(req)
    router = _router_for(req.model)
    if router is not None and (done := router.call("complete", (req,))) is not IN_PROCESS:
        return done
    litellm = load_litellm()
    try:
        with _own_call():
            result = litellm.completion(**_completion_kwargs(req, stream=False))
    except Exception as exc:
        raise map_error(exc, req.model, req.api_base) from exc
    usage = Usage()
    raw = getattr(result, "usage", None)
    if raw:
        _read_usage(raw, usage)
    usage.cost_usd = _cost(litellm, req.model, usage)
    return result.choices[0].message.content or "", usage
