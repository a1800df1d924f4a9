"""Shared fixtures: an isolated home for every test and two ways to run `kit`.

`run_kit` runs the CLI in-process (`kit_py.cli.main.run(argv)`) with the same environment, working
directory, stdin and captured stdout/stderr a real process would get; litellm is imported once per
worker instead of once per run. `run_kit_process` runs the installed `kit` executable. Set
KIT_TEST_SUBPROCESS=1 to make `run_kit` use real processes as well, to check that both agree.
"""

from __future__ import annotations

import io
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from tests.mcp_support import http_mcp_url_fixture  # noqa: F401  (fixture `http_mcp_url`: one per worker)
from tests.provider_fixture import provider  # noqa: F401  (re-exported fixture)

REPO = Path(__file__).resolve().parent.parent
MODEL = "openai/scripted"


def kit_command() -> list[str]:
    """The installed console script when present (as users run it), else `python -m kit_py`."""
    script = Path(sys.executable).parent / "kit"
    return [str(script)] if script.exists() else [sys.executable, "-m", "kit_py"]


@pytest.fixture
def kit_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment with KIT_HOME, config dir and HOME in a temp folder and no provider keys."""
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_API_KEY", "_API_BASE")) and not k.startswith("KIT_")
        and k not in ("COLUMNS", "LINES")  # pytest-xdist sets 80x24; a pty test sets its own size
    }
    env.update(
        HOME=str(home),
        KIT_HOME=str(tmp_path / "kithome"),
        KIT_CONFIG_DIR=str(tmp_path / "config"),
        XDG_CONFIG_HOME=str(tmp_path / "xdg"),
        PYTHONPATH=str(REPO),
        KIT_RETRY_BASE_DELAY="0.05",
        NO_COLOR="1",
        TERM="xterm-256color",
        # No warm worker unless a test asks for one (tests/test_llm_worker.py), never the user's own.
        KIT_NO_WORKER="1",
        KIT_WORKER_DIR=str(tmp_path / "worker"),
    )
    monkeypatch.setenv("KIT_HOME", env["KIT_HOME"])
    monkeypatch.setenv("KIT_CONFIG_DIR", env["KIT_CONFIG_DIR"])
    # No default system prompt (an empty one sends none), so what a test sends is what it asserts;
    # tests/test_system_prompt_default.py covers the default itself.
    (home / ".kit.yml").write_text('system_prompt: ""\n')
    return env


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The directory kit runs in (its cwd decides the sessions folder)."""
    d = tmp_path / "project"
    d.mkdir()
    return d


RunKit = Callable[..., subprocess.CompletedProcess[str]]
IN_PROCESS = os.environ.get("KIT_TEST_SUBPROCESS", "") in ("", "0")

# Process-wide state a run may change and a real process would drop on exit.
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm", "httpx")
# Variables kit or litellm set for themselves during a run (LITELLM_LOCAL_MODEL_COST_MAP when kit loads
# litellm, TIKTOKEN_CACHE_DIR when litellm first counts tokens): a process keeps them for the rest of its
# life and litellm looks them up again later, so every later run in this worker gets them too.
_process_env: dict[str, str] = {}


def _std_stream(
    stack: ExitStack, errors: str = "strict", data: bytes | None = None, line_buffering: bool = False
) -> io.TextIOWrapper:
    """A text stream like the interpreter's stdio, over a temp file: `.buffer` for bytes, a real file
    descriptor, not a tty. With `data` it is a stdin holding those bytes."""
    raw = stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115
    if data is not None:
        raw.write(data)
        raw.seek(0)
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors=errors, line_buffering=line_buffering)
    stack.callback(stream.detach)  # the TemporaryFile context closes the file itself
    return stream


def _read_back(stream: io.TextIOWrapper) -> str:
    """What a parent reading the pipe sees: decoded and newlines translated like subprocess text=True."""
    stream.flush()
    stream.buffer.seek(0)
    return stream.buffer.read().decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


class _RunThreadStream:
    """sys.stdout / sys.stderr during an in-process run: the thread running kit writes to the capture,
    every other thread (the scripted provider's server, a turn an earlier test left running) to the
    stream it had, as if kit were a process of its own."""

    def __init__(self, capture: io.TextIOWrapper, other: object) -> None:
        self._capture: io.TextIOWrapper | None = capture
        self._other, self._owner = other, threading.get_ident()

    def __getattr__(self, name: str) -> object:
        capture = self._capture
        mine = capture is not None and threading.get_ident() == self._owner
        return getattr(capture if mine else self._other, name)

    def release(self) -> None:
        """After the run, anything still holding this stream (a logging handler) writes to the other."""
        self._capture = None


@contextmanager
def _process_state(env: dict[str, str], cwd: Path) -> Iterator[None]:
    """Environment, working directory, signal handlers and logger levels for one in-process run,
    all put back afterwards (the test itself keeps its own environment between runs)."""
    from kit_py.cli import signals as kit_signals

    handlers = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    levels = {name: logging.getLogger(name).level for name in _LOGGERS}
    wanted = {**_process_env, **env}
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key not in wanted:
                mp.delenv(key)
        for key, value in wanted.items():
            mp.setenv(key, value)
        mp.chdir(cwd)
        kit_signals.received = None
        try:
            yield
        finally:
            _process_env.update({key: os.environ[key] for key in os.environ.keys() - wanted.keys()})
            kit_signals.received = None
            for sig, handler in handlers.items():
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)


_litellm_loaded = False


def _load_litellm_once(env: dict[str, str], cwd: Path) -> None:
    """Import litellm (2-3 s) once per worker, under a run's environment and configured the way a
    non-debug run does it."""
    global _litellm_loaded
    if _litellm_loaded:
        return
    from kit_py import llm

    with _process_state(env, cwd):
        llm.load_litellm()
    _litellm_loaded = True


def run_in_process(
    argv: list[str], env: dict[str, str], cwd: Path, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`kit argv` as `kit_py.cli.main.run` in this process: same exit code, stdout and stderr."""
    from kit_py.cli import main as cli_main

    _load_litellm_once(env, cwd)
    with ExitStack() as stack:
        stdin = _std_stream(stack, data=(input or "").encode("utf-8"))
        stdout = _std_stream(stack)
        stderr = _std_stream(stack, "backslashreplace", line_buffering=True)  # like Python's stderr
        with _process_state(env, cwd):
            saved = sys.stdin, sys.stdout, sys.stderr
            routed = _RunThreadStream(stdout, sys.stdout), _RunThreadStream(stderr, sys.stderr)
            sys.stdin = stdin
            sys.stdout, sys.stderr = routed  # type: ignore[assignment]
            try:
                code = cli_main.run(list(argv))
            except SystemExit as exit_:  # nothing should raise it, but a process would still exit
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
            finally:
                sys.stdin, sys.stdout, sys.stderr = saved
                for stream in routed:
                    stream.release()
        try:  # what hard_exit does: a failed flush of stdout is a failure
            stdout.flush()
        except (OSError, ValueError):
            code = code or 1
        return subprocess.CompletedProcess(["kit", *argv], code, _read_back(stdout), _read_back(stderr))


def run_in_subprocess(
    argv: list[str], env: dict[str, str], cwd: Path, input: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """The installed `kit argv` as a real process; stdin is empty unless `input` is given."""
    return subprocess.run(
        [*kit_command(), *argv],
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )


def _runner(kit_env: dict[str, str], workdir: Path, provider, in_process: bool) -> RunKit:  # noqa: F811
    def run(
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 60,
        provider_flags: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        flags = ["-m", MODEL, "--api-base", provider.base_url] if provider_flags else []
        argv, full_env, where = [*flags, *args], {**kit_env, **(env or {})}, Path(cwd or workdir)
        if in_process:  # pytest-timeout bounds a run that hangs
            return run_in_process(argv, full_env, where, input)
        return run_in_subprocess(argv, full_env, where, input, timeout)

    return run


@pytest.fixture
def run_kit(kit_env: dict[str, str], workdir: Path, provider) -> RunKit:  # noqa: F811
    """Run `kit` against the scripted provider, in-process (KIT_TEST_SUBPROCESS=1: a real process).

    Takes the CLI words, plus `input` (stdin text; empty otherwise), `env` (added to the test env),
    `cwd` (default: workdir), `provider_flags` (False: no -m/--api-base) and `timeout` (real processes;
    in-process, pytest-timeout stops a run that hangs); returns a CompletedProcess with returncode,
    stdout and stderr.
    """
    if IN_PROCESS:  # before the test starts, so the first run does not pay for it
        _load_litellm_once(kit_env, workdir)
    return _runner(kit_env, workdir, provider, in_process=IN_PROCESS)


@pytest.fixture
def run_kit_process(kit_env: dict[str, str], workdir: Path, provider) -> RunKit:  # noqa: F811
    """Like `run_kit`, always as a real `kit` process: for what only a process can show."""
    return _runner(kit_env, workdir, provider, in_process=False)


def session_files(kit_env: dict[str, str]) -> list[Path]:
    root = Path(kit_env["KIT_HOME"]) / "sessions"
    return sorted(root.rglob("*.jsonl")) if root.exists() else []
