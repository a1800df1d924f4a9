"""`python -m kit_py.llm.worker --dir FOLDER --idle SECONDS [--after PID]`: the warm worker.

kit starts it (kit_py/llm/worker/client.py `start_in_background`); nobody needs to by hand.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from kit_py.llm.worker.server import main

parser = argparse.ArgumentParser(prog="python -m kit_py.llm.worker")
parser.add_argument("--dir", required=True, type=Path, help="The worker's private folder.")
parser.add_argument("--idle", required=True, type=float, help="Seconds without calls before it exits.")
parser.add_argument(
    "--after", type=int, metavar="PID", help="Load litellm once process PID has ended, at a low priority."
)
arguments = parser.parse_args()
code = main(arguments.dir, arguments.idle, after=arguments.after)
sys.stderr.flush()
os._exit(code)  # no interpreter teardown: litellm's takes about a second
