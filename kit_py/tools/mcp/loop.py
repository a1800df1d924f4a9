"""A private asyncio event loop on a daemon thread.

The MCP SDK is async and its connections live in tasks; kit's tool layer is synchronous and runs on
whatever thread drives the turn. Each `McpServers` owns one of these loops: connections are held
open on it, and a tool call is a coroutine submitted to it and waited for from the calling thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, func: Callable[..., Any], *args: Any) -> None:
        """Run `func(*args)` on the loop thread (state owned by the loop is changed only there)."""
        self.loop.call_soon_threadsafe(func, *args)

    def stop(self) -> None:
        """Stop the loop once its connections are closed; tasks still pending are cancelled."""
        if self.loop.is_closed():
            return

        async def cancel_the_rest() -> None:
            current = asyncio.current_task()
            rest = [t for t in asyncio.all_tasks() if t is not current]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            self.submit(cancel_the_rest()).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()
