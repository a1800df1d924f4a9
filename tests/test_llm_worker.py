"""The warm worker (kit_py/llm/worker/): a one-shot answered through it is the same run, and whatever
goes wrong with the worker, kit still answers.

One worker, started once per test session in its own temp folder and shared by the xdist processes
(`shared_worker`), serves most tests. Tests about its life (the first start, a stale one, other users)
use private folders and stop their worker before it has finished loading litellm. The same one-shot
scenarios run in-process with and without the worker; real processes show what only they can
(the console script, Ctrl-C, a child killed mid-answer, two callers at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import kit_py
from kit_py import errors, llm
from kit_py.llm.worker import control, worker_calls
from kit_py.llm.worker.client import start_in_background
from tests.anthropic_provider import AnthropicProvider
from tests.conftest import MODEL, kit_command, session_files
from tests.provider import ScriptedProvider

OTHER_UID = 65534  # nobody


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="session")
def shared_worker(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[Path]:
    """The folder of the session's worker: one for all xdist processes (the last one out stops it)."""
    base = tmp_path_factory.getbasetemp()
    root = base if worker_id == "master" else base.parent
    folder, users = root / "kit-worker", root / "kit-worker.users"
    with _locked(root / "kit-worker.lock"):
        users.write_text(str(int(users.read_text() or 0) + 1 if users.exists() else 1))
    yield folder
    with _locked(root / "kit-worker.lock"):
        left = int(users.read_text()) - 1
        users.write_text(str(left))
        if left == 0:
            control.stop(folder)


@pytest.fixture
def worker(shared_worker: Path) -> Path:
    """The shared worker, running (started, or replaced when the code under it changed on disk)."""
    state, _ = control.start(shared_worker, idle_seconds=300)
    assert state["state"] == "running", state
    return shared_worker


def worker_env(folder: Path) -> dict[str, str]:
    return {"KIT_NO_WORKER": "", "KIT_WORKER_DIR": str(folder)}


def served(folder: Path) -> int:
    return int(control.status(folder)["served"])


def our_calls(folder: Path, cwd: Path) -> list[int]:
    """The worker's children serving a caller in `cwd` (a child takes its caller's working directory)."""
    pids = []
    for pid in control.status(folder).get("running_calls", []):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/cwd") == str(cwd):
                pids.append(pid)
    return pids


def last_answer(kit_env: dict[str, str]) -> str:
    """The text of the newest session's last answer (with --debug, stdout also holds litellm's logs)."""
    newest = max(session_files(kit_env), key=lambda path: path.stat().st_mtime_ns)
    entry = json.loads(newest.read_text().splitlines()[-1])
    assert entry["role"] == "assistant", entry
    return str(entry["parts"][0]["data"]["text"])


def wait_for(condition: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)
    return found


# --- the same one-shots with and without the worker ---------------------------------------------------


@dataclass
class Run:
    args: tuple[str, ...]
    input: str | None = None
    provider_flags: bool = True


Providers = tuple[ScriptedProvider, AnthropicProvider]
Scenario = Callable[[ScriptedProvider, AnthropicProvider], list[Run]]


def _plain(p: ScriptedProvider, a: AnthropicProvider) -> list[Run]:
    p.reply("JSONL is one JSON value per line.", usage={"prompt_tokens": 9, "completion_tokens": 8})
    return [Run(("explain JSONL",))]


def _json_with_a_tool_call(p: ScriptedProvider, a: AnthropicProvider) -> list[Run]:
    p.reply(
        tool_calls=[{"id": "call_1", "name": "write", "arguments": {"path": "notes.txt", "content": "hi\n"}}]
    )
    p.reply("Wrote notes.txt.")
    return [Run(("--json", "write the notes"))]


def _piped_then_continued(p: ScriptedProvider, a: AnthropicProvider) -> list[Run]:
    p.reply("looks fine")
    p.reply("yes, really")
    return [Run(("review this",), input="diff --git a/x b/x\n+new line\n"), Run(("-c", "sure?"))]


def _retried(p: ScriptedProvider, a: AnthropicProvider) -> list[Run]:
    p.error(503)
    p.reply("recovered")
    return [Run(("hi",))]


def _rejected(p: ScriptedProvider, a: AnthropicProvider) -> list[Run]:
    p.error(401)
    return [Run(("hi",))]


def _cut_off(p: ScriptedProvider, a: AnthropicProvider) -> list[Run]:
    p.reply("a partial answer that is cut", chunk_size=4, drop_after=3)
    return [Run(("hi",))]


def _timed_out(p: ScriptedProvider, a: AnthropicProvider) -> list[Run]:
    p.hang(3)
    return [Run(("--timeout", "0.5", "hi"))]


def _missing_key(p: ScriptedProvider, a: AnthropicProvider) -> list[Run]:
    return [Run(("-m", "openai/gpt-4o", "hi"), provider_flags=False)]


def _unknown_model(p: ScriptedProvider, a: AnthropicProvider) -> list[Run]:
    return [Run(("-m", "no-such-provider-model-xyz", "hi"), provider_flags=False)]


def _bare_model_name(p: ScriptedProvider, a: AnthropicProvider) -> list[Run]:
    a.reply("Bonjour.", input_tokens=12, output_tokens=3)
    return [
        Run(
            ("-m", "claude-sonnet-4-5", "--api-base", a.base_url, "--api-key", "k", "hi"),
            provider_flags=False,
        )
    ]


SCENARIOS: dict[str, Scenario] = {
    "plain answer": _plain,
    "json with a tool call": _json_with_a_tool_call,
    "piped stdin, then continued": _piped_then_continued,
    "503 retried": _retried,
    "401 rejected": _rejected,
    "cut off mid-answer": _cut_off,
    "timed out": _timed_out,
    "missing api key": _missing_key,
    "unknown model": _unknown_model,
    "bare model name (provider from litellm)": _bare_model_name,
}


def _normalizer(texts: list[str], *paths: Path) -> Callable[[Any], Any]:
    """Drops what differs between two identical runs: entry ids (numbered in order of appearance),
    timestamps and durations, the hash chain, session ids and the runs' own folders."""
    ids: dict[str, str] = {}
    session_ids = {
        m for text in texts for m in re.findall(r'"type":"session"[^\n]*?"id":"([0-9a-f]{32})"', text)
    }

    def text(value: str) -> str:
        for path in paths:
            value = value.replace(str(path), "<dir>").replace(
                str(path).strip("/").replace("/", "--"), "<dir>"
            )
        for sid in session_ids:
            value = value.replace(sid, "<session>").replace(sid[:12], "<session>")
        return value

    def normalize(value: Any) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if key in ("timestamp", "hash", "duration_ms"):  # the clock, and the chain over it
                    continue
                if key.endswith("id") and isinstance(item, str) and re.fullmatch(r"[0-9a-f]{16}", item):
                    out[key] = ids.setdefault(item, f"#{len(ids)}")
                else:
                    out[key] = normalize(item)
            return out
        if isinstance(value, list):
            return [normalize(item) for item in value]
        return text(value) if isinstance(value, str) else value

    return normalize


def _one_shots(
    run_kit, providers: Providers, scenario: Scenario, env: dict[str, str], home: Path, cwd: Path
) -> dict[str, Any]:
    """The scenario's runs in `cwd` with sessions in `home`: outputs, session files and files made,
    with what differs between two identical runs taken out."""
    cwd.mkdir()
    results = []
    for run in scenario(*providers):
        result = run_kit(
            *run.args,
            input=run.input,
            env={**env, "KIT_HOME": str(home)},
            cwd=cwd,
            provider_flags=run.provider_flags,
        )
        results.append(result)
    files = sorted(home.rglob("*.jsonl"))
    raw = [f.read_text() for f in files]
    normalize = _normalizer(raw, cwd, home)
    outputs = []
    for result in results:
        stdout = result.stdout
        with contextlib.suppress(ValueError):
            stdout = normalize(json.loads(stdout))
        outputs.append((result.returncode, normalize(stdout), normalize(result.stderr)))
    entries = [[normalize(json.loads(line)) for line in text.splitlines()] for text in raw]
    made = sorted(str(p.relative_to(cwd)) for p in cwd.rglob("*"))
    return {"outputs": outputs, "sessions": entries, "files made": made}


def _sent(providers: Providers, cwd: Path) -> list[str]:
    provider, anthropic = providers
    bodies = [r["body"] for r in provider.chat_requests] + anthropic.bodies
    return [json.dumps(body).replace(str(cwd), "<dir>") for body in bodies]


@pytest.fixture
def providers(provider: ScriptedProvider) -> Iterator[Providers]:
    """The scripted OpenAI-format provider and an Anthropic-format one beside it."""
    anthropic = AnthropicProvider().start()
    yield provider, anthropic
    anthropic.stop()


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_one_shot_through_the_worker_is_the_same_run(run_kit, providers, worker, tmp_path, name):
    scenario = SCENARIOS[name]
    alone = _one_shots(run_kit, providers, scenario, {}, tmp_path / "home-alone", tmp_path / "alone")
    sent_alone = _sent(providers, tmp_path / "alone")
    before = served(worker)
    through = _one_shots(
        run_kit, providers, scenario, worker_env(worker), tmp_path / "home-worker", tmp_path / "worker"
    )
    assert through == alone
    assert _sent(providers, tmp_path / "worker")[len(sent_alone) :] == sent_alone, "the same requests"
    assert served(worker) >= before + len(through["outputs"]), "the worker answered"


def test_the_console_script_answers_through_the_worker(run_kit_process, provider, worker, kit_env):
    provider.reply("from the worker")
    before = served(worker)
    result = run_kit_process("--debug", "hi", env=worker_env(worker))
    assert result.returncode == 0, result.stderr
    assert last_answer(kit_env) == "from the worker"
    assert "LiteLLM:DEBUG" in result.stdout, "the worker's litellm logs where kit's own would"
    assert f"kit: debug: model worker in {worker}: calls answered by its children" in result.stderr
    assert "running litellm in this process" not in result.stderr
    assert served(worker) >= before + 2  # the model check, then the answer


# --- when the worker cannot answer --------------------------------------------------------------------


def test_a_child_killed_before_the_first_byte_leaves_the_answer_to_this_process(
    run_kit, provider, worker, workdir, kit_env
):
    provider.reply("never sent", first_delay=30)
    provider.reply("answered here")

    def kill_ours() -> None:
        wait_for(lambda: provider.chat_requests)  # the child is asking the provider now
        for pid in our_calls(worker, workdir):
            os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_ours, daemon=True)
    killer.start()
    result = run_kit("hi", env=worker_env(worker))
    killer.join(timeout=5)
    assert result.returncode == 0, result.stderr
    assert (result.stdout, result.stderr) == ("answered here\n", "")
    assert len(provider.chat_requests) == 2
    entries = [json.loads(line) for line in session_files(kit_env)[0].read_text().splitlines()]
    assert [e.get("role") for e in entries if e["type"] == "message"] == ["user", "assistant"]


def _spawn(kit_env, workdir, *args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*kit_command(), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env={**kit_env, **env},
        cwd=workdir,
    )


def test_a_child_killed_mid_answer_keeps_the_partial_answer_like_a_dropped_stream(
    kit_env, provider, worker, workdir
):
    provider.reply("partial answer that goes on and on " * 5, chunk_size=5, delay=0.2)
    kit = _spawn(kit_env, workdir, "-m", MODEL, "--api-base", provider.base_url, "go", env=worker_env(worker))
    assert kit.stdout.read(7) == b"partial"
    for pid in our_calls(worker, workdir):
        os.kill(pid, signal.SIGKILL)
    out, err = kit.communicate(timeout=30)
    assert kit.returncode == 10, err
    assert err.decode().strip() == (
        "kit: error: the model worker stopped mid-answer (incomplete) (partial answer kept in the session)"
    )
    entries = [json.loads(line) for line in session_files(kit_env)[0].read_text().splitlines()]
    assert entries[-1]["stop_reason"] == "error"
    assert entries[-1]["parts"][0]["data"]["text"].startswith("partial")


def test_ctrl_c_through_the_worker_exits_130_keeps_the_partial_and_stops_the_request(
    kit_env, provider, worker, workdir
):
    provider.reply("partial answer that goes on and on " * 5, chunk_size=5, delay=0.2)
    kit = _spawn(kit_env, workdir, "-m", MODEL, "--api-base", provider.base_url, "go", env=worker_env(worker))
    assert kit.stdout.read(7) == b"partial"
    children = our_calls(worker, workdir)
    assert children, "a child of the worker is answering"
    kit.send_signal(signal.SIGINT)
    _, err = kit.communicate(timeout=30)
    assert kit.returncode == 130
    assert err.decode().startswith("kit: interrupted")
    assert provider.wait_for_client_close(1), "the child closed the HTTP stream"
    wait_for(lambda: not set(children) & set(control.status(worker)["running_calls"]))  # it ended
    entries = [json.loads(line) for line in session_files(kit_env)[0].read_text().splitlines()]
    assert entries[-1]["stop_reason"] == "aborted"
    assert entries[-1]["parts"][0]["data"]["text"].startswith("partial")


def test_a_cancelled_async_call_stops_the_child_and_returns_the_partial_answer(
    provider, worker, monkeypatch, tmp_path
):
    monkeypatch.setenv("KIT_WORKER_DIR", str(worker))
    monkeypatch.delenv("KIT_NO_WORKER", raising=False)
    monkeypatch.chdir(tmp_path)
    provider.reply("partial answer that goes on and on " * 5, chunk_size=5, delay=0.2)
    request = llm.LLMRequest(
        model=MODEL, messages=[{"role": "user", "content": "go"}], api_base=provider.base_url
    )

    async def cancel_after_the_first_words() -> tuple[llm.StreamBroken, list[llm.StreamEvent]]:
        seen: list[llm.StreamEvent] = []
        task = asyncio.ensure_future(llm.astream_completion(request, seen.append))
        while not seen:
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(llm.StreamBroken) as broken:
            await task
        return broken.value, seen

    with worker_calls(True, 5) as routed:
        assert routed
        broken, seen = asyncio.run(cancel_after_the_first_words())
    assert isinstance(broken.cause, errors.Cancelled)
    assert broken.partial.stop_reason == "aborted"
    assert broken.partial.text.startswith("".join(e.text for e in seen))
    assert provider.wait_for_client_close(1)
    wait_for(lambda: our_calls(worker, tmp_path) == [])


def test_two_callers_at_once_each_send_only_their_own_key(kit_env, provider, worker, workdir, run_kit):
    provider.gate = threading.Event()
    callers = {
        who: _spawn(
            kit_env,
            workdir,
            "-m",
            MODEL,
            f"from {who}",
            env={**worker_env(worker), "OPENAI_API_KEY": f"key-{who}", "OPENAI_API_BASE": provider.base_url},
        )
        for who in ("a", "b")
    }
    wait_for(lambda: len(provider.chat_requests) == 2)  # both requests in flight at once
    provider.gate.set()
    for kit in callers.values():
        out, err = kit.communicate(timeout=30)
        assert kit.returncode == 0, err
    keys = {
        r["body"]["messages"][-1]["content"]: r["headers"]["authorization"] for r in provider.chat_requests
    }
    assert keys == {"from a": "Bearer key-a", "from b": "Bearer key-b"}
    provider.gate = None
    alone = run_kit(
        "-m",
        MODEL,
        "hi",
        env={**worker_env(worker), "OPENAI_API_BASE": provider.base_url},
        provider_flags=False,
    )
    assert alone.returncode == 3, "no caller's key was kept"
    assert alone.stderr == "kit: error: no API key for openai: set OPENAI_API_KEY (or pass --api-key)\n"


# --- the worker's life --------------------------------------------------------------------------------


def test_the_first_run_starts_the_worker_and_answers_itself(run_kit, provider, tmp_path, kit_env):
    folder = tmp_path / "w"
    result = run_kit("--debug", "hi", env=worker_env(folder))
    assert result.returncode == 0 and last_answer(kit_env) == "ok"
    assert (
        "kit: debug: model worker not running; started one in the background for the next runs; "
        "running litellm in this process" in result.stderr
    )
    started = wait_for(lambda: control.status(folder).get("pid"))
    again = run_kit("hi", env=worker_env(folder))
    assert (again.returncode, again.stdout, again.stderr) == (0, "ok\n", ""), "silent while it starts"
    assert control.status(folder)["pid"] == started, "one worker, not one per run"
    assert control.stop(folder) == started
    assert control.status(folder)["state"] == "stopped"


def test_a_stale_worker_gives_way_and_this_process_answers(run_kit, provider, tmp_path, kit_env):
    old = tmp_path / "old"
    shutil.copytree(
        Path(llm.__file__).parent.parent, old / "kit_py", ignore=shutil.ignore_patterns("__pycache__")
    )
    init = old / "kit_py" / "__init__.py"
    init.write_text(re.sub(r'__version__ = "[^"]*"', '__version__ = "0.0.1"', init.read_text()))
    folder = tmp_path / "w"
    stale = subprocess.Popen(
        [sys.executable, "-m", "kit_py.llm.worker", "--dir", str(folder), "--idle", "60"],
        env={**os.environ, "PYTHONPATH": str(old)},
        cwd=old,
    )
    try:
        wait_for(lambda: control.status(folder).get("version") == "0.0.1")
        provider.reply("fresh")
        result = run_kit("--debug", "hi", env=worker_env(folder))
        assert result.returncode == 0 and last_answer(kit_env) == "fresh"
        assert "kit: debug: model worker stale: it runs kit 0.0.1, this is kit " in result.stderr
        assert stale.wait(timeout=20) == 0, "the stale worker left"
        replacement = wait_for(lambda: control.status(folder).get("version"))
        assert replacement == kit_py.__version__, "this kit started its own worker"
    finally:
        control.stop(folder)
        if stale.poll() is None:
            stale.kill()


@pytest.mark.parametrize("whose", ["folder", "socket"])
def test_a_worker_folder_or_socket_of_another_user_is_refused(run_kit, provider, tmp_path, kit_env, whose):
    import socket

    folder = tmp_path / "w"
    folder.mkdir(mode=0o700)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(folder / "worker.sock"))
    os.chmod(folder / "worker.sock", 0o600)
    listener.listen()
    listener.setblocking(False)
    target = folder if whose == "folder" else folder / "worker.sock"
    os.chown(target, OTHER_UID, OTHER_UID)
    provider.reply("answered here")
    result = run_kit("--debug", "hi", env=worker_env(folder))
    assert result.returncode == 0 and last_answer(kit_env) == "answered here"
    assert f"kit: debug: model worker refused: {target} is owned by uid {OTHER_UID}, not 0" in result.stderr
    with pytest.raises(BlockingIOError):
        listener.accept()  # nobody knocked
    listener.close()


PROBE = """
import os, socket, sys
os.chdir(sys.argv[1])
uid = int(sys.argv[2])
os.setgroups([]); os.setgid(uid); os.setuid(uid)
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect("worker.sock")
print(repr(s.recv(64)))
"""


def test_the_worker_says_nothing_to_another_user(tmp_path):
    folder = tmp_path / "w"
    start_in_background(folder, 60)
    try:
        wait_for(lambda: (folder / "worker.sock").exists())
        os.chmod(folder, 0o711)  # only so that another user can reach the socket at all
        os.chmod(folder / "worker.sock", 0o666)

        def knock(uid: int) -> str:
            probe = [sys.executable, "-c", PROBE, str(folder), str(uid)]
            return subprocess.run(probe, capture_output=True, text=True, timeout=30, check=True).stdout

        assert knock(OTHER_UID).strip() == "b''", "closed without a word"
        assert "#CHALLENGE#" in knock(os.getuid())
    finally:
        os.chmod(folder, 0o700)
        os.chmod(folder / "worker.sock", 0o600)
        control.stop(folder)


@pytest.mark.parametrize("turned_off_by", ["config", "environment"])
def test_worker_false_or_kit_no_worker_keeps_every_call_here(
    run_kit, provider, kit_env, tmp_path, turned_off_by
):
    folder = tmp_path / "w"
    env = worker_env(folder)
    if turned_off_by == "config":
        home_config = Path(kit_env["HOME"]) / ".kit.yml"
        home_config.write_text(home_config.read_text() + "worker: false\n")
        reason = "off (worker: false in the config)"
    else:
        env["KIT_NO_WORKER"] = "1"
        reason = "off (KIT_NO_WORKER=1)"
    provider.reply("answered here")
    result = run_kit("--debug", "hi", env=env)
    assert result.returncode == 0 and last_answer(kit_env) == "answered here"
    assert f"kit: debug: model worker {reason}" in result.stderr
    assert not folder.exists(), "no worker was started"


def test_kit_worker_status_start_and_stop(run_kit, worker, tmp_path):
    status = run_kit("worker", "status", "--json", env=worker_env(worker), provider_flags=False)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["state"] == "running" and report["stale"] is None and report["used"] is None
    assert report["rss_bytes"] > 50 * 2**20 and report["folder"] == str(worker)
    text = run_kit("worker", "status", env=worker_env(worker), provider_flags=False)
    assert text.stdout.startswith(f"kit worker: running (pid {report['pid']}, kit ")
    again = run_kit("worker", "start", env=worker_env(worker), provider_flags=False)
    assert (
        again.stdout
        == f"kit worker: already running (pid {report['pid']}, ready after {report['ready_after_s']:.1f} s)\n"
    )
    empty = tmp_path / "w"
    missing = run_kit("worker", "status", env=worker_env(empty), provider_flags=False)
    assert (missing.returncode, missing.stdout) == (1, f"kit worker: not running (folder {empty})\n")
    stopped = run_kit("worker", "stop", env=worker_env(empty), provider_flags=False)
    assert (stopped.returncode, stopped.stdout) == (0, "kit worker: not running\n")
    off = run_kit("worker", "start", env={**worker_env(empty), "KIT_NO_WORKER": "1"}, provider_flags=False)
    assert (off.returncode, off.stderr) == (2, "kit: error: the worker is off (KIT_NO_WORKER=1)\n")
    assert not empty.exists()


def test_the_worker_leaves_when_idle_or_when_its_socket_is_gone(tmp_path):
    idle, removed = tmp_path / "idle", tmp_path / "removed"
    start_in_background(idle, 0.5)
    start_in_background(removed, 600)
    wait_for(lambda: (removed / "worker.sock").exists())
    (removed / "worker.sock").unlink()
    for folder, why in ((idle, "idle for 0.5 s: exiting"), (removed, "the socket was removed or replaced")):
        # a worker loads litellm before it can idle: under a loaded CI machine that alone can take 20 s
        wait_for(lambda folder=folder: control.status(folder)["state"] == "stopped", timeout=90)
        assert why in (folder / "worker.log").read_text()


def test_the_default_folder_is_private_per_user_and_per_boot(monkeypatch, tmp_path):
    from kit_py.llm.worker.folder import worker_folder

    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")[:12]
    monkeypatch.delenv("KIT_WORKER_DIR", raising=False)
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    assert worker_folder() == runtime / f"kit-worker-{boot}"
    runtime.chmod(0o755)  # not private: not used
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert worker_folder() == tmp_path / f"kit-worker-{os.getuid()}-{boot}"
