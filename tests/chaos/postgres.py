"""A PostgreSQL server of the test's own (initdb in a temporary directory, its own port),
so a chaos test can restart or stop it without touching the server every other test uses.
Runs the server as the ``postgres`` system user when the tests run as root (initdb refuses
root)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.helpers import free_port


def _bindir() -> Path | None:
    root = Path("/usr/lib/postgresql")
    versions = sorted(root.iterdir(), key=lambda p: int(p.name)) if root.is_dir() else []
    for version in reversed(versions):
        if (version / "bin" / "initdb").exists():
            return version / "bin"
    found = shutil.which("initdb")
    return Path(found).parent if found else None


BINDIR = _bindir()


class PrivatePostgres:
    def __init__(self, root: Path) -> None:
        assert BINDIR is not None
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/trackly"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(BINDIR / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120,
                              check=True)

    def _options(self) -> str:
        return (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                "-c max_connections=200")

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--no-sync")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                  "trackly")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-o", self._options(), "-l",
                  str(self.root / "server.log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-o", self._options(), "-l",
                  str(self.root / "server.log"), "-m", "fast", "-w", "restart")


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """In a directory of its own under the system's temporary directory (the ``postgres``
    user cannot enter pytest's root-only tmp_path)."""
    root = Path(tempfile.mkdtemp(prefix="trackly-pg-"))
    server = PrivatePostgres(root)
    try:
        server.init()
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
