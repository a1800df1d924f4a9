"""Colour themes shared by the rich output and the prompt_toolkit input line.

Colours are the only thing a theme changes; `NO_COLOR` is honoured by both libraries themselves
(rich drops colours, prompt_toolkit falls back to monochrome), so no code path checks it here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Theme:
    name: str
    styles: dict[str, str]
    """rich styles, referenced as `kit.<key>` in markup."""
    code_theme: str
    """Pygments style for code blocks."""
    prompt: dict[str, str]
    """prompt_toolkit style rules (prompt, toolbar, completion menu)."""


THEMES: dict[str, Theme] = {
    "dark": Theme(
        name="dark",
        styles={
            "kit.user": "bold cyan",
            "kit.dim": "grey50",
            "kit.reasoning": "italic grey50",
            "kit.tool": "cyan",
            "kit.ok": "green",
            "kit.error": "bold red",
            "kit.warn": "yellow",
            "kit.note": "grey62",
            "kit.accent": "bold magenta",
        },
        code_theme="monokai",
        prompt={
            "prompt": "ansicyan bold",
            "banner": "#808080",
            "continuation": "ansibrightblack",
            "bottom-toolbar": "noreverse bg:#262626 #a8a8a8",
            "bottom-toolbar.model": "bg:#262626 #5fd7ff bold",
            "bottom-toolbar.warn": "bg:#262626 #ffaf00",
        },
    ),
    "light": Theme(
        name="light",
        styles={
            "kit.user": "bold blue",
            "kit.dim": "grey42",
            "kit.reasoning": "italic grey42",
            "kit.tool": "dark_cyan",
            "kit.ok": "dark_green",
            "kit.error": "bold red3",
            "kit.warn": "dark_orange3",
            "kit.note": "grey39",
            "kit.accent": "bold purple",
        },
        code_theme="friendly",
        prompt={
            "prompt": "ansiblue bold",
            "banner": "#6c6c6c",
            "continuation": "ansigray",
            "bottom-toolbar": "noreverse bg:#e4e4e4 #444444",
            "bottom-toolbar.model": "bg:#e4e4e4 #005f87 bold",
            "bottom-toolbar.warn": "bg:#e4e4e4 #af5f00",
        },
    ),
}
DEFAULT_THEME = "dark"


def get_theme(name: str | None) -> Theme:
    """The named theme, or the default for an unknown name (a hand-edited config must not crash the REPL)."""
    return THEMES.get((name or "").lower(), THEMES[DEFAULT_THEME])


def rich_theme(theme: Theme) -> Any:
    from rich.theme import Theme as RichTheme

    return RichTheme(theme.styles)


def prompt_style(theme: Theme) -> Any:
    from prompt_toolkit.styles import Style

    return Style.from_dict(theme.prompt)
