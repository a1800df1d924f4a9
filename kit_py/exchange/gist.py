"""Secret gists through the GitHub CLI (`gh`): kit holds no GitHub token of its own.

`gh gist create` makes a secret gist unless `--public` is given; kit never gives it. The user's own
`gh` login is checked first (`gh auth status`), so a missing or logged-out `gh` is said before any
work is done.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from kit_py.exchange.errors import ShareError

INSTALL_HINT = "install the GitHub CLI (https://cli.github.com) and run `gh auth login`"
TIMEOUT = 120.0


def _gh() -> str:
    found = shutil.which("gh")
    if found is None:
        raise ShareError(f"sharing needs the GitHub CLI `gh`, which is not installed: {INSTALL_HINT}")
    return found


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GH_PROMPT_DISABLED": "1", "NO_COLOR": "1"}
    try:
        return subprocess.run(
            args, capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL, env=env
        )
    except subprocess.TimeoutExpired:
        raise ShareError(f"`{' '.join(args[1:3])}` did not finish within {TIMEOUT:.0f} s") from None
    except OSError as exc:
        raise ShareError(f"cannot run {args[0]}: {exc.strerror or exc}") from None


def _said(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in (result.stderr or result.stdout or "").splitlines() if line.strip()]
    return lines[-1] if lines else f"exit status {result.returncode}"


def check_logged_in() -> str:
    """The path of a `gh` that is logged in to GitHub; ShareError saying what to do otherwise."""
    gh = _gh()
    status = _run([gh, "auth", "status"])
    if status.returncode != 0:
        raise ShareError(f"`gh` is not logged in to GitHub ({_said(status)}); run `gh auth login` first")
    return gh


def create_secret_gist(gh: str, files: list[Path], description: str) -> str:
    """Upload `files` as one secret gist; returns its URL."""
    result = _run([gh, "gist", "create", "--desc", description, *(str(f) for f in files)])
    if result.returncode != 0:
        raise ShareError(f"`gh gist create` failed: {_said(result)}")
    urls = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("https://")]
    if not urls:
        raise ShareError(f"`gh gist create` printed no gist URL: {_said(result)}")
    return urls[-1]
