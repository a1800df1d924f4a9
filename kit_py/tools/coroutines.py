"""Run a coroutine to completion from synchronous code, wherever that code runs.

Library users hand kit `async def` functions (an async `@tool`, an async approve callback) while kit
calls them from synchronous code: a turn's worker thread, or a sync `session.run()` called inside a
running event loop (Jupyter, a FastAPI handler), where `asyncio.run` refuses to start.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Coroutine
from contextvars import ContextVar, copy_context
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # asyncio is imported where it runs: `kit "prompt"` never needs it (start-up time)
    import asyncio

T = TypeVar("T")

home_loop: ContextVar[asyncio.AbstractEventLoop | None] = ContextVar("kit_home_loop", default=None)
"""The event loop an async turn runs on (`engine.turn.arun_turn` sets it). Its tool calls run in
worker threads that inherit this context, so their coroutines run back on the caller's loop, where
the objects they use (clients, locks) belong."""


def run_coroutine(awaitable: Awaitable[T]) -> T:
    """The awaitable's result, waited for from synchronous code."""
    import asyncio

    coroutine = _as_coroutine(awaitable)
    loop = home_loop.get()
    if loop is not None and loop.is_running() and not _runs_here(loop):
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result()
    if not _loop_running_here():
        return asyncio.run(coroutine)
    return _in_own_thread(coroutine)  # this thread's loop is busy running us: a loop of its own


def _as_coroutine(awaitable: Awaitable[T]) -> Coroutine[Any, Any, T]:
    import asyncio

    if asyncio.iscoroutine(awaitable):
        return awaitable

    async def wait() -> T:
        return await awaitable

    return wait()


def _loop_running_here() -> bool:
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _runs_here(loop: asyncio.AbstractEventLoop) -> bool:
    import asyncio

    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _in_own_thread(coroutine: Coroutine[Any, Any, T]) -> T:
    import asyncio

    outcome: dict[str, Any] = {}
    context = copy_context()

    def work() -> None:
        try:
            outcome["value"] = context.run(asyncio.run, coroutine)
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=work, name="kit-coroutine", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
