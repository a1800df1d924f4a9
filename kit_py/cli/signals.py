"""SIGTERM and SIGHUP stop a print-mode run the way Ctrl-C does, so the partial answer is saved.

The default action of those signals kills the process on the spot and loses what streamed so far.
Raising KeyboardInterrupt instead goes through the same path as Ctrl-C (answer kept, marked aborted);
the exit status still tells which signal it was (128 + its number).
"""

from __future__ import annotations

import signal
from types import FrameType

received: int | None = None


def _stop(signum: int, frame: FrameType | None) -> None:
    global received
    received = signum
    raise KeyboardInterrupt


def stop_gracefully_on_termination() -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop)


def exit_code(code: int) -> int:
    """The exit status: 128 + signal number when a termination signal stopped the run."""
    return 128 + received if received is not None else code
