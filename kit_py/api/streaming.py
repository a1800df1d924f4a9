"""Delivering a turn's events to a consumer while the turn runs, and cancelling it when they stop.

A turn is a coroutine (`Session`'s async path, on litellm's async client). `iterate_sync` runs it on
an event loop of its own in a worker thread for a plain `for` loop; `iterate_async` runs it as a task
beside an `async for`. Either way, a consumer that stops early (`break`, Ctrl-C, a cancelled task)
cancels the turn: its HTTP stream is closed and the session is left as the failure policy says.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

from kit_py.api.messages import Event, RunResult

Put = Callable[[Any], None]
TurnFactory = Callable[[Put], Coroutine[Any, Any, RunResult[Any]]]
"""Starts the turn: gets the function events go to, returns the coroutine that runs it."""


@dataclass
class _Failure:
    error: BaseException


async def _feed(start: TurnFactory, put: Put) -> None:
    """Run the turn; its events, then `done` (or the failure), go to `put`."""
    try:
        result = await start(put)
    except asyncio.CancelledError:
        raise  # the consumer cancelled it and is not listening any more
    except BaseException as exc:  # handed to the consumer, who re-raises it
        put(_Failure(exc))
        return
    put(Event("done", result.text, result=result))


def iterate_sync(start: TurnFactory) -> Iterator[Event]:
    """The turn's events for a `for` loop; leaving the loop (or Ctrl-C) cancels the turn and waits
    until the cancellation is applied, so the session is settled when control returns."""
    items: queue.SimpleQueue[Event | _Failure] = queue.SimpleQueue()
    runner = _LoopThread(_feed(start, items.put))
    finished = False
    try:
        while True:
            item = _next(items)
            if isinstance(item, _Failure):
                finished = True
                raise item.error
            yield item
            if item.type == "done":
                finished = True
                return
    finally:
        if not finished:
            runner.cancel()
        runner.join()


def _next(items: queue.SimpleQueue[Event | _Failure]) -> Event | _Failure:
    """The next item; waits in short slices, so Ctrl-C is seen at once. A function of its own: in
    CPython 3.11 a KeyboardInterrupt raised at the `continue` of an `except` inside a generator's
    loop skips that generator's `finally`, which would leave the turn running."""
    while True:
        try:
            return items.get(timeout=0.2)
        except queue.Empty:
            pass


async def iterate_async(start: TurnFactory) -> AsyncIterator[Event]:
    """The turn's events for an `async for`, the turn running as a task beside it; cancelling the
    consumer (or closing the iterator) cancels the turn and waits for it."""
    loop = asyncio.get_running_loop()
    items: asyncio.Queue[Event | _Failure] = asyncio.Queue()

    def put(item: Event | _Failure) -> None:  # tools run in threads: their events cross over
        if _running_loop() is loop:
            items.put_nowait(item)
        else:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is listening
                loop.call_soon_threadsafe(items.put_nowait, item)

    task = asyncio.ensure_future(_feed(start, put))
    try:
        while True:
            item = await items.get()
            if isinstance(item, _Failure):
                raise item.error
            yield item
            if item.type == "done":
                return
    finally:
        if not task.done():
            task.cancel()
        await asyncio.wait([task])


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class _LoopThread:
    """A coroutine on an event loop of its own, in a daemon thread, that can be cancelled from outside."""

    def __init__(self, coroutine: Coroutine[Any, Any, None]) -> None:
        self._coroutine = coroutine
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._main, name="kit-turn", daemon=True)
        self._thread.start()

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.ensure_future(self._coroutine)
            self._started.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

        try:
            asyncio.run(main())
        finally:
            self._started.set()

    def cancel(self) -> None:
        self._started.wait()
        task, loop = self._task, self._loop
        if task is not None and loop is not None:
            with contextlib.suppress(RuntimeError):  # already finished and closed
                loop.call_soon_threadsafe(task.cancel)

    def join(self) -> None:
        self._thread.join()
