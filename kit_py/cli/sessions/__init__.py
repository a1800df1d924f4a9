"""`kit sessions ...`: find, inspect, search, tidy and verify saved sessions from the shell.

`commands.py` holds the typer flags; each command's work (on top of `kit_py.catalog`) lives in
`browse` (list, show), `find` (search, reindex), `tidy` (rm, restore, rename, prune) and `report`
(stats, verify, audit). Every `--json` prints one document (README.md, "kit sessions").
"""

from kit_py.cli.sessions.commands import sessions_app

__all__ = ["sessions_app"]
