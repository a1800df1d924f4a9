"""A real PostgreSQL server for the tests: one per test process (each xdist worker), started on first use.

`initdb` makes a throwaway cluster in a temp folder and `postgres` serves it on a Unix socket in that
folder (no TCP port to collide on). Run as root (CI, this machine), both run as `nobody`, since
PostgreSQL refuses root. The server dies with the test process (parent-death signal) and is stopped
at exit. Durability is PostgreSQL's job, not what these tests check, so fsync is off for speed
(`durable=True` keeps PostgreSQL's defaults: bench/bench_postgres.py).

Every store gets a schema of its own (`fresh_store`), so tests never see each other's sessions.
"""

from __future__ import annotations

import atexit
import ctypes
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from kit_py.stores import PostgresStore

START_TIMEOUT = 30.0


def pg_binary(name: str) -> str:
    """`initdb` / `postgres`: on PATH, else Debian's /usr/lib/postgresql/<version>/bin (newest)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[-3].split(".")[0])
    )
    if not candidates:
        raise RuntimeError(
            f"PostgreSQL's {name} was not found: install PostgreSQL 15 (apt-get install postgresql-15); "
            ".ci/run does it on a fresh machine"
        )
    return candidates[-1]


def _die_with_parent() -> None:
    """In the child, before exec: get SIGINT (a fast shutdown) when the test process dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGINT)  # PR_SET_PDEATHSIG


class PostgresServer:
    """A temporary cluster and its server; `url` connects as the superuser `kit`."""

    def __init__(self, *, durable: bool = False) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="kit-pg-"))
        user: dict[str, Any] = {}  # run the server as `nobody` when we are root
        if os.geteuid() == 0:
            uid, gid = _ids("nobody")
            user = {"user": uid, "group": gid, "extra_groups": []}
            os.chown(self.folder, uid, gid)
        data = self.folder / "data"
        log = self.folder / "server.log"
        initdb = subprocess.run(
            [pg_binary("initdb"), "-D", str(data), "-U", "kit", "-A", "trust", "--no-sync", "-E", "UTF8",
             "--locale=C", "--no-instructions"],
            cwd=self.folder, capture_output=True, text=True, check=False, **user,
        )  # fmt: skip
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed: {initdb.stderr.strip()}")
        settings = {
            "listen_addresses": "",
            "unix_socket_directories": str(self.folder),
            "max_connections": "300",
        }
        if not durable:  # the tests: what PostgreSQL makes durable is its business, not theirs
            settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        args = [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                [pg_binary("postgres"), "-D", str(data), *args],
                cwd=self.folder, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent, **user,
            )  # fmt: skip
        self.url = f"postgresql://kit@/postgres?host={self.folder}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                psycopg.connect(self.url, connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"PostgreSQL did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.02)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown: clients are cut off
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def _ids(name: str) -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


_server: PostgresServer | None = None
_server_lock = threading.Lock()
_stores: list[PostgresStore] = []


def server() -> PostgresServer:
    """This process's server, started on first use and stopped at exit."""
    global _server
    with _server_lock:
        if _server is None:
            _server = PostgresServer()
            atexit.register(_shutdown)
        return _server


def _shutdown() -> None:
    for store in _stores:
        store.close()
    if _server is not None:
        _server.stop()


def fresh_schema() -> str:
    return f"t_{uuid.uuid4().hex[:16]}"


def fresh_store(_tmp: Path | None = None, **options: object) -> PostgresStore:
    """A PostgresStore on a schema no other store uses (the store contract suites' factory)."""
    store = PostgresStore(server().url, schema=fresh_schema(), **options)  # type: ignore[arg-type]
    _stores.append(store)
    return store


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The URL of this process's PostgreSQL server (superuser `kit`, database `postgres`)."""
    return server().url
