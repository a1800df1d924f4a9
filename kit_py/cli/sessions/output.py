"""What every `kit sessions` command shares: one JSON document, ages and durations, confirmation,
the progress bar of a long index build, and turning a reference into a session."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from kit_py.errors import SessionError, UsageError

if TYPE_CHECKING:
    from kit_py.catalog import SessionInfo
    from kit_py.catalog.index import Progress

PROGRESS_FROM_BYTES = 16 << 20  # smaller index builds finish before a bar would help
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdwy]?)\s*$")


def emit_json(document: dict[str, Any]) -> None:
    """Print the command's one JSON document (indented, UTF-8, newline-terminated)."""
    sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


def dollars(cost: float | None) -> float | None:
    """A summed cost for JSON, without float noise (0.156, not 0.15600000000000008)."""
    return None if cost is None else round(cost, 8)


def iso(epoch: float) -> str:
    """An epoch time as RFC 3339 UTC text (seconds), for JSON."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def age(epoch: float, now: float | None = None) -> str:
    seconds = max(0, int((time.time() if now is None else now) - epoch))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def parse_duration(text: str, flag: str) -> float:
    """`90d`, `12h`, `30m`, `2w`, `1y` or a number of days, in seconds; UsageError otherwise."""
    m = _DURATION.match(text)
    if m is None:
        raise UsageError(f"{flag} {text!r} is not a duration like 7d, 12h, 30m, 2w or 1y")
    return float(m.group(1)) * _UNITS[m.group(2) or "d"]


def confirm(question: str, yes: bool) -> bool:
    """True with --yes; otherwise ask on a terminal. Without one, refuse: scripts must say --yes."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError(f"{question.rstrip('?')}: not confirmed; pass --yes to do it without asking")
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        return False
    return answer.strip().lower() in ("y", "yes")


@contextmanager
def progress_bar() -> Iterator[Progress | None]:
    """A progress callback that draws a bar on stderr once an index build is big enough to need one
    (the first build of a large home); None off a terminal. The bar is gone when the block ends."""
    if not sys.stderr.isatty():
        yield None
        return
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if total < PROGRESS_FROM_BYTES:
            return
        if "bar" not in state:
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

            state["bar"] = Progress(
                "indexing sessions",
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            state["bar"].start()
            state["task"] = state["bar"].add_task("index", total=total)
        state["bar"].update(state["task"], completed=done, total=total)

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].stop()


def resolve(ref: str, root: Path, cwd: str | None, *, trash: bool = False) -> SessionInfo:
    """The session `ref` names (a path, an id prefix, a file name or a session name)."""
    from kit_py.catalog.lookup import find_session
    from kit_py.catalog.trash import trash_folders

    try:
        if trash:
            return find_session(ref, root, cwd, folders=trash_folders(root))
        return find_session(ref, root, cwd)
    except LookupError as exc:
        raise SessionError(str(exc)) from None
