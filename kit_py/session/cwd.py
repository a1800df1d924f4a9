"""The working directory a session belongs to (its header `cwd` and its sessions folder)."""

from __future__ import annotations

import os


def logical_cwd() -> str:
    """The directory as the user reached it: `$PWD` when it names the current directory (so a
    symlinked project keeps its own name, as Go's `os.Getwd` does and Go kit's folders do), else the
    resolved current directory."""
    cwd = os.getcwd()
    pwd = os.environ.get("PWD")
    if pwd and os.path.isabs(pwd) and pwd != cwd:
        try:
            if os.path.samefile(pwd, cwd):
                return pwd
        except OSError:
            pass
    return cwd
