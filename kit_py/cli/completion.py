"""`kit completion [bash|zsh|fish] [--install]`: print or install the shell completion scripts.

The scripts live in the repository's `completions/` folder; installing copies one to the place each
shell loads per-user completions from, so no rc file has to be edited (except zsh's fpath).
"""

from __future__ import annotations

import os
from pathlib import Path

from kit_py.errors import UsageError

SCRIPTS = {"bash": "kit.bash", "zsh": "_kit", "fish": "kit.fish"}
SCRIPTS_DIR = Path(__file__).resolve().parent.parent.parent / "completions"


def detect_shell() -> str:
    """The user's login shell from $SHELL, when it is one we have a script for."""
    name = Path(os.environ.get("SHELL", "")).name
    if name not in SCRIPTS:
        shown = name or "(unset)"
        raise UsageError(f"cannot tell the shell from SHELL={shown}; name one of: bash, zsh, fish")
    return name


def script_text(shell: str) -> str:
    if shell not in SCRIPTS:
        raise UsageError(f"no completion for {shell!r}; choose one of: bash, zsh, fish")
    path = SCRIPTS_DIR / SCRIPTS[shell]
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"completion script {path} is missing: {exc.strerror}") from None


def install_path(shell: str) -> Path:
    """Where each shell picks up a user's completions without extra configuration."""
    home = Path.home()
    if shell == "bash":
        data = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
        return data / "bash-completion" / "completions" / "kit"
    if shell == "zsh":
        return home / ".zfunc" / "_kit"
    config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    return config / "fish" / "completions" / "kit.fish"


def completion_command(shell: str | None, install: bool) -> int:
    """Print the script (for `source <(kit completion bash)`) or install it; returns the exit code."""
    chosen = shell or detect_shell()
    text = script_text(chosen)
    if not install:
        print(text, end="")
        return 0
    target = install_path(chosen)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(f"installed {chosen} completion: {target}")
    if chosen == "zsh":
        print("add `fpath=(~/.zfunc $fpath)` before `compinit` in ~/.zshrc, then start a new shell")
    else:
        print("start a new shell to use it")
    return 0
