"""Real `fundledger serve` processes and a throwaway PostgreSQL server, for the attacks.

Every process is started in its own process group and killed with the group, so a failing test
leaves nothing running; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

FUNDLEDGER = str(Path(sys.executable).with_name("fundledger"))
POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
START_TIMEOUT_S = 60.0
CLIENT_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cli_environment(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a CLI process on `database_url` with FUNDLEDGER_* `settings`."""
    extra = {f"FUNDLEDGER_{name.upper()}": value for name, value in settings.items()}
    return {**os.environ, "FUNDLEDGER_DATABASE_URL": database_url, **extra}


def create_key(database_url: str, role: str, name: str, funds: tuple[str, ...] = ()) -> str:
    """A new API key made the way an operator makes one: `fundledger keys create`."""
    fund_options = [option for fund in funds for option in ("--fund", fund)]
    created = subprocess.run(
        [FUNDLEDGER, "keys", "create", "--role", role, "--name", name, *fund_options],
        env=cli_environment(database_url),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return created.stdout.strip()


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and everything it started; wait for it (bounded)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


@dataclass
class Server:
    """One `fundledger serve` process on a port of loopback, logging to `log_path`."""

    database_url: str
    log_path: Path
    settings: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        environment = cli_environment(self.database_url, log_format="json", **self.settings)
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                [FUNDLEDGER, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=environment,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_until_up()
        return self

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process is not None
            assert self.process.poll() is None, self.log_tail()
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server did not answer within {START_TIMEOUT_S} s")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing, as in a power cut of the process."""
        if self.process is not None:
            kill_group(self.process)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            kill_group(self.process)

    def client(self, key: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {key}"},
            timeout=CLIENT_TIMEOUT_S,
        )

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""


class ThrowawayPostgres:
    """A PostgreSQL server of our own in a temporary directory, to stop and start under load.

    The shared server on 5432 is never touched. PostgreSQL refuses to run as root, so initdb and
    pg_ctl run as the `postgres` user when the tests run as root.
    """

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="fundledger-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            os.chown(self.directory, *_postgres_ids())

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(
            [*prefix, *command], check=True, capture_output=True, timeout=120, cwd=self.directory
        )

    def initialise(self) -> ThrowawayPostgres:
        initdb = str(POSTGRES_BIN / "initdb")
        self._run(initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        return self

    def start(self) -> None:
        # fsync off: the fault injected is the server process dying (immediate stop), not the
        # machine; what PostgreSQL handed to the kernel survives that either way.
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        pg_ctl = str(POSTGRES_BIN / "pg_ctl")
        log = str(self.directory / "server.log")
        self._run(pg_ctl, "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop_immediately(self) -> None:
        """`pg_ctl stop -m immediate`: every backend dies at once, no checkpoint."""
        self._run(str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop_immediately()
        subprocess.run(["rm", "-rf", str(self.directory)], check=False, timeout=60)


def _postgres_ids() -> tuple[int, int]:
    import pwd  # noqa: PLC0415 - only when running as root

    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


def problem_rule(response: httpx.Response) -> Any:
    return (
        response.json().get("rule")
        if response.headers.get("content-type", "").endswith("problem+json")
        else None
    )
