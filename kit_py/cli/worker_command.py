"""`kit worker status|start|stop`: the warm worker that answers one-shot runs (kit_py/llm/worker/).

Only typer is imported at start-up; the worker's modules when a command runs. stdout carries the
answer (one JSON object with --json); `status` exits 1 when no worker runs, so scripts can test it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

_HELP = {"help_option_names": ["-h", "--help"]}
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object (see README).")]

worker_app = typer.Typer(
    add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False, context_settings=_HELP
)


@worker_app.callback()
def worker() -> None:
    """The warm worker: a process with the model library loaded that answers one-shot `kit` runs in a
    fraction of a second. The first run starts it; it exits after worker_idle_minutes (default 15)
    without calls. `worker: false` in .kit.yml or KIT_NO_WORKER=1 turns it off; KIT_WORKER_DIR moves it."""


@worker_app.command("status")
def status_command(json_output: JsonFlag = False) -> None:
    """Is it running, since when, how many calls it served, its memory (exit 1 when it is not running)."""
    from kit_py.llm.worker.control import status

    current = status(_folder())
    if json_output:
        _json({**current, "used": _use_note()})
    else:
        print(_describe(current))
        if _use_note() is not None:
            print(f"  one-shot runs do not use it: {_use_note()}")
    raise typer.Exit(0 if current["state"] in ("running", "starting") else 1)


@worker_app.command("start")
def start_command(
    idle_minutes: Annotated[
        float | None,
        typer.Option(
            "--idle-minutes", min=0.01, metavar="N", help="Exit after N idle minutes (default: config)."
        ),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Start it now (a stale one is replaced) and wait until it serves, instead of on the next run."""
    import time

    from kit_py.errors import KitError, UsageError
    from kit_py.llm.worker import folder as place
    from kit_py.llm.worker.control import start

    settings = _settings()
    reason = _use_note()
    if reason is not None:
        raise UsageError(f"the worker is {reason}")
    begun = time.monotonic()
    try:
        current, started = start(_folder(), (idle_minutes or settings.worker_idle_minutes) * 60)
    except (place.Refused, OSError) as exc:
        raise KitError(f"cannot start the worker: {exc}") from None
    if current["state"] == "failed":
        raise KitError(f"the worker could not start: {current['error']}")
    if json_output:
        _json({**current, "started": started, "waited_s": round(time.monotonic() - begun, 3)})
    else:
        what = "started" if started else "already running"
        print(f"kit worker: {what} (pid {current['pid']}, ready after {current['ready_after_s']:.1f} s)")


@worker_app.command("stop")
def stop_command(json_output: JsonFlag = False) -> None:
    """Stop it (calls it is serving finish first, in their own processes)."""
    from kit_py.llm.worker.control import stop

    pid = stop(_folder())
    if json_output:
        _json({"stopped": pid is not None, "pid": pid})
    else:
        print(f"kit worker: stopped (pid {pid})" if pid is not None else "kit worker: not running")


def _folder() -> Path:
    from kit_py.llm.worker.folder import worker_folder

    return worker_folder()


def _settings() -> Any:
    from kit_py.config import resolve_settings

    return resolve_settings({})


def _use_note() -> str | None:
    """Why one-shot runs do not use the worker here (config, environment, system), or None."""
    from kit_py.llm.worker import turned_off

    return turned_off(_settings().worker)


def _describe(current: dict[str, Any]) -> str:
    state, folder = current["state"], current["folder"]
    if state == "stopped":
        return f"kit worker: not running (folder {folder})"
    if state in ("refused", "unresponsive"):
        return f"kit worker: {state}: {current['reason']}"
    if "pid" not in current:
        return f"kit worker: {state} (folder {folder})"
    lines = [f"kit worker: {state} (pid {current['pid']}, kit {current['version']})"]
    if current.get("stale"):
        lines.append(f"  stale: {current['stale']} (the next run replaces it)")
    if current.get("error"):
        lines.append(f"  error: {current['error']}")
    if current.get("ready_after_s") is not None:
        lines.append(
            f"  ready after {current['ready_after_s']:.1f} s; served {current['served']} calls, "
            f"{len(current['running_calls'])} running now"
        )
    if current.get("rss_bytes"):
        lines.append(f"  memory: {current['rss_bytes'] / 2**20:.0f} MB resident")
    idle_left = max(0.0, current["idle_limit_s"] - current["idle_for_s"])
    lines.append(
        f"  exits after {_minutes(current['idle_limit_s'])} without calls "
        f"({_minutes(idle_left)} from now if none come)"
    )
    lines.append(f"  folder: {folder}")
    return "\n".join(lines)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def _json(value: object) -> None:
    import orjson

    sys.stdout.buffer.write(orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()
