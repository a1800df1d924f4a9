"""Channels: named folders of session files under `$KIT_HOME/channels/`, for services and bots, each
with settings (model, system prompt, safe mode, ...) its new sessions inherit."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import orjson

from kit_py.catalog import kit_home
from kit_py.session.store import ensure_private_dir

_CHANNEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def channel_dir(channel: str) -> Path:
    """`$KIT_HOME/channels/<channel>/`: one folder of CLI-format session files per channel."""
    if not _CHANNEL_NAME.match(channel):
        raise ValueError(f"bad channel name {channel!r}: use letters, digits, '.', '_' or '-'")
    return kit_home() / "channels" / channel


def channel_dirs() -> list[Path]:
    """Every channel's folder, by name."""
    base = kit_home() / "channels"
    try:
        return sorted(p for p in base.iterdir() if p.is_dir())
    except FileNotFoundError:
        return []


SETTINGS_FILE = "channel.json"


@dataclass(frozen=True)
class ChannelSettings:
    """What every session created in a channel starts with (`Session.create` arguments win).

    Kept in `<channel folder>/channel.json`, so every process serving the channel agrees."""

    model: str | None = None
    system_prompt: str | None = None
    safe_mode: bool | None = None
    thinking_level: str | None = None
    tools: tuple[str, ...] | None = None
    """Built-in tool names (Python functions are passed to `Session.create(tools=...)` each time)."""


def channel_settings(channel: str) -> ChannelSettings:
    """The channel's settings (all None when it has none)."""
    path = channel_dir(channel) / SETTINGS_FILE
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return ChannelSettings()
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ValueError(f"cannot read the settings of channel {channel!r} ({path}): {exc}") from None
    known = {f.name for f in fields(ChannelSettings)}
    values = {k: v for k, v in data.items() if k in known} if isinstance(data, dict) else {}
    if values.get("tools") is not None:
        values["tools"] = tuple(values["tools"])
    return ChannelSettings(**values)


def configure_channel(
    channel: str,
    *,
    model: str | None = None,
    system_prompt: str | None = None,
    safe_mode: bool | None = None,
    thinking_level: str | None = None,
    tools: Iterable[str] | None = None,
) -> ChannelSettings:
    """Set the channel's settings (None leaves one as it is) and return them all.

    `tools` are built-in tool names; `thinking_level` one of off, minimal, low, medium, high."""
    from kit_py.config import THINKING_LEVELS
    from kit_py.tools.registry import select_tools

    if thinking_level is not None and thinking_level not in THINKING_LEVELS:
        levels = ", ".join(THINKING_LEVELS)
        raise ValueError(f"thinking_level must be one of {levels}, not {thinking_level!r}")
    if safe_mode is not None and not isinstance(safe_mode, bool):
        raise TypeError(f"safe_mode must be True or False, not {safe_mode!r}")
    names = None if tools is None else tuple(t.name for t in select_tools(list(tools)))
    old = channel_settings(channel)
    merged = ChannelSettings(
        model=model if model is not None else old.model,
        system_prompt=system_prompt if system_prompt is not None else old.system_prompt,
        safe_mode=safe_mode if safe_mode is not None else old.safe_mode,
        thinking_level=thinking_level if thinking_level is not None else old.thinking_level,
        tools=names if names is not None else old.tools,
    )
    folder = channel_dir(channel)
    ensure_private_dir(folder)
    tmp = folder / f".{SETTINGS_FILE}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(orjson.dumps(asdict(merged), option=orjson.OPT_INDENT_2))
    os.replace(tmp, folder / SETTINGS_FILE)  # readers see the old settings or the new, never half
    return merged
