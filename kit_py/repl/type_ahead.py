"""Keys typed while an answer streams: Esc stops the answer (as Ctrl-C does), anything else is kept for
after the turn. A line ended with Enter is a queued message, sent when the answer is done; the rest is
put back into the input. Nothing typed is lost, and an approval question never reads it: the reader
pauses while one is asked.
"""

from __future__ import annotations

import os
import re
import select
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

ESC = b"\x1b"
_SEQUENCE = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*[@-~]|O.|.)", re.DOTALL)
"""Arrow keys and other escape sequences: not text, dropped."""
ESC_ALONE_SECONDS = 0.05
"""An escape sequence arrives in one piece; an Esc with nothing after it this long is the Esc key."""


class TypeAhead:
    """Reads the terminal in a background thread while a turn runs (the terminal is in no-echo,
    non-canonical mode then, see `repl.app._no_echo`)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._typed = bytearray()
        self._stop = threading.Event()
        self._reading = threading.Event()
        self._reading.set()
        self._idle = threading.Event()
        self._thread: threading.Thread | None = None

    @contextmanager
    def running(self) -> Iterator[TypeAhead]:
        self._thread = threading.Thread(target=self._read, name="kit-type-ahead", daemon=True)
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """While a question is asked on the terminal, its keys are its own."""
        self._reading.clear()
        self._idle.wait(1.0)
        try:
            yield
        finally:
            self._idle.clear()
            self._reading.set()

    def _read(self) -> None:
        while not self._stop.is_set():
            if not self._reading.is_set():
                self._idle.set()
                self._reading.wait(0.05)
                continue
            if not select.select([self.fd], [], [], 0.05)[0]:
                continue
            try:
                data = os.read(self.fd, 4096)
            except OSError:
                return
            if not data:
                return
            if data == ESC and not select.select([self.fd], [], [], ESC_ALONE_SECONDS)[0]:
                os.kill(os.getpid(), signal.SIGINT)  # stop the answer exactly as Ctrl-C does
                continue
            self._typed += data

    def taken(self) -> tuple[list[str], str]:
        """(queued messages: lines ended with Enter, the unfinished rest) of what was typed."""
        text = _edited(_SEQUENCE.sub(b"", bytes(self._typed)).decode("utf-8", errors="replace"))
        *lines, rest = text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
        return [line for line in lines if line.strip()], rest


def _edited(text: str) -> str:
    """Apply Backspace as the input line would."""
    out: list[str] = []
    for char in text:
        if char in "\x7f\b":
            if out:
                out.pop()
        elif char >= " " or char in "\r\n\t":
            out.append(char)
    return "".join(out)
