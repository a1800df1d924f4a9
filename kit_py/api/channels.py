"""Channels: named folders of session files under `$KIT_HOME/channels/`, for services and bots."""

from __future__ import annotations

import re
from pathlib import Path

from kit_py.session import kit_home

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
