"""Console-script entry point: answers `--version` before importing anything else."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        from kit_py import __version__

        print(f"kit {__version__}")
        return
    from kit_py.cli.app import main as cli_main

    cli_main()
