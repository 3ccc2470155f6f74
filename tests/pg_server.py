"""A throwaway PostgreSQL server for the tests: its own cluster in a temporary directory.

Debian's `postgresql` package puts the server binaries in /usr/lib/postgresql/<version>/bin
(not on PATH). `initdb` and `postgres` refuse to run as root, so as root the cluster is
made and run by the `postgres` user (`runuser`). Durability is switched off (the data
dies with the test run anyway) unless a test crashes the server on purpose.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def server_bin() -> Path | None:
    """The newest installed server's bin directory, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresServer:
    """`with PostgresServer() as pg: pg.url` — a fresh cluster on a free 127.0.0.1 port."""

    def __init__(self, *, listen: tuple[str, ...] = ("127.0.0.1",), durable: bool = False) -> None:
        """`listen`: the addresses it takes connections on (any of them trusted, like 127.0.0.1).
        `durable`: keep PostgreSQL's crash safety (for tests that crash it); off, commits are faster."""
        bindir = server_bin()
        if bindir is None:
            raise FileNotFoundError("PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
        self.bin = bindir
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="docspasta-pg-"))
        self.data = self.dir / "data"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.listen = listen
        self.durable = durable

    def __enter__(self) -> PostgresServer:
        if os.geteuid() == 0:  # the cluster is made and run by the postgres user
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        if len(self.listen) > 1:  # clients in the tests' own network namespaces (10.x veth pairs)
            with (self.data / "pg_hba.conf").open("a") as hba:
                hba.write("host all all 10.0.0.0/8 trust\n")
        options = f"-p {self.port} -k {self.dir} -c listen_addresses={','.join(self.listen)} -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self.options = options
        self.start()
        return self

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-o", self.options, "-l", str(self.dir / "log"), "-w", "start")

    def crash(self) -> None:
        """Stop the server as a crash or a failover would: every connection drops at once."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run(self._command("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"),
                           capture_output=True, check=False)  # fmt: skip
        shutil.rmtree(self.dir, ignore_errors=True)

    def new_database(self, name: str) -> str:
        """A fresh, empty database on this server; returns its URL."""
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def _command(self, tool: str, *args: str) -> list[str]:
        command = [str(self.bin / tool), *args]
        return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run(self._command(tool, *args), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log = (self.dir / "log").read_text() if (self.dir / "log").exists() else ""
            raise RuntimeError(f"{tool} failed: {result.stderr.strip()} {log[-2000:]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
